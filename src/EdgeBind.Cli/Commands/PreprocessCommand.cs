using System.CommandLine;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Preprocessing;

namespace EdgeBind.Cli.Commands;

/// <summary><c>edgebind preprocess</c>: one file to the tensor its modality's encoder takes, saved as .npy.</summary>
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
        var command = new Command("preprocess", "Preprocess one file exactly as ImageBind does and write the tensor as .npy.")
        {
            modality,
            input,
            output,
        };
        command.SetAction(parse =>
        {
            var preprocessor = FilePreprocessors.Create(ParseModality(parse.GetValue(modality)));
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
