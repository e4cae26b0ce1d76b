using System.CommandLine;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Inference.Manifest;
using EdgeBind.Inference.Preprocessing;
using EdgeBind.Preprocessing;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind preprocess</c>: one file to the tensor its modality's encoder takes, saved as .npy. With <c>--model DIR</c>
/// the package manifest's parameters are used (its normalisation, value ranges, IMU rate and scale), so the tensor is
/// the one that package's encoder takes (<c>embed --tensor</c> gives the same embedding as <c>embed</c> on the file);
/// without it, the documented defaults (ImageBind's own parameters where it publishes them).
/// </summary>
public static class PreprocessCommand
{
    /// <summary>Modalities with a file preprocessor, as accepted by <c>--modality</c>.</summary>
    internal static readonly string[] Modalities = ["vision", "video", "audio", "depth", "thermal", "imu"];

    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var modality = ModalityOption();
        var input = InputOption();
        var output = new Option<FileInfo>("--out", "-o")
        {
            Description = "Where to write the tensor: a little-endian float32 C-order .npy file.",
            Required = true,
        };
        var model = new Option<string?>("--model")
        {
            Description = "Model package directory: preprocess with its manifest's parameters, giving the tensor its encoder takes (default: ImageBind's parameters).",
        };
        var command = new Command("preprocess", "Preprocess one file exactly as ImageBind does (or as a model package says) and write the tensor as .npy.")
        {
            modality,
            input,
            output,
            model,
        };
        command.SetAction(parse =>
        {
            var m = ParseModality(parse.GetValue(modality));
            var preprocessor = parse.GetValue(model) is { } dir ? ForPackage(dir, m) : FilePreprocessors.Create(m);
            var inputFile = parse.GetValue(input)!;
            var tensor = new float[preprocessor.ItemLength()];
            preprocessor.ProcessFile(inputFile.FullName, tensor);
            var outFile = parse.GetValue(output)!;
            NpyFile.Write(outFile.FullName, tensor, [.. preprocessor.ItemShape]);
            Console.WriteLine($"{outFile.FullName}: float32 [{string.Join(", ", preprocessor.ItemShape)}]");
            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>The file preprocessor <paramref name="dir"/>'s manifest asks for, checked against its encoder's input shape.</summary>
    private static IFilePreprocessor ForPackage(string dir, Modality modality)
    {
        var manifest = ModelManifest.Load(dir);
        if (!manifest.Modalities.TryGetValue(modality, out var spec))
        {
            throw new ArgumentException($"--model {dir}: the package has no {modality.ToConfigName()} encoder (it has {string.Join(", ", manifest.Modalities.Keys.Select(k => k.ToConfigName()))})");
        }
        var preprocessor = ManifestPreprocessors.Instance.CreateFilePreprocessor(manifest, spec);
        var shape = preprocessor.ItemShape;
        var item = spec.Input.ItemShape;
        // File mode may stack clips (audio: 3 x [1,128,204]); anything else would be refused by the encoder.
        if (!shape.SequenceEqual(item) && !(shape.Count == item.Count + 1 && shape.Skip(1).SequenceEqual(item)))
        {
            throw new InvalidDataException($"--model {dir}: its {modality.ToConfigName()} preprocessing gives [{string.Join(",", shape)}] but its encoder takes [N,{string.Join(",", item)}]");
        }
        return preprocessor;
    }

    internal static Option<string> ModalityOption() => new("--modality", "-m")
    {
        Description = "vision, video, audio, depth, thermal or imu.",
        Required = true,
    };

    internal static Option<FileInfo> InputOption() => new("--input", "-i")
    {
        Description = "Input file: JPEG/PNG/BMP image; video (MP4 and what FFmpeg reads); WAV; depth 16-bit PNG (mm) or float32 .npy (m); thermal PNG or .npy (degrees C); IMU CSV or .npy.",
        Required = true,
    };

    internal static Modality ParseModality(string? name)
    {
        if (!ModalityNames.TryParse(name, out var modality) || Array.IndexOf(Modalities, modality.ToConfigName()) < 0)
        {
            throw new ArgumentException($"--modality: expected one of {string.Join(", ", Modalities)}; found '{name}'");
        }
        return modality;
    }
}
