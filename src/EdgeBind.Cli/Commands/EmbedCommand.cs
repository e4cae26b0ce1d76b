using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeBind.Core;
using EdgeBind.Core.IO;
using EdgeBind.Inference;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind embed --model DIR --modality M --input FILE... [--out OUT.npy]</c> and
/// <c>edgebind embed --model DIR --text TEXT...</c>: one L2-normalised embedding per input, as a float32
/// [N, D] .npy with <c>--out</c>, otherwise one JSON line per input with the whole vector and its norm. Inputs are
/// raw recordings (as <c>preprocess</c> reads them) unless <c>--tensor</c> says they are preprocessed tensors.
/// </summary>
public static class EmbedCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model package directory.", Required = true };
        var modality = new Option<string?>("--modality") { Description = "Modality of the --input files: vision, video (as ImageBind: 5 two-frame clips x 3 crops, averaged; needs a package with a video encoder), audio, depth, thermal, imu (or text for UTF-8 text files)." };
        var inputs = new Option<string[]>("--input") { Description = "Input files in the modality's raw formats (those of preprocess; a .npy is depth in metres, thermal in degrees C, IMU rows), or tensors with --tensor.", AllowMultipleArgumentsPerToken = true };
        var texts = new Option<string[]>("--text") { Description = "Texts to embed.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--out") { Description = "Write all embeddings to this .npy (float32 [N, D]) instead of printing." };
        var command = new Command("embed", "Embed files or texts with a model package: one L2-normalised embedding per input.") { model, modality, inputs, texts, output, ModelCli.Tensor };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            var files = parse.GetValue(inputs) ?? [];
            var strings = parse.GetValue(texts) ?? [];
            if ((files.Length == 0) == (strings.Length == 0))
            {
                throw new ArgumentException("expected either --input FILE... (with --modality) or --text TEXT...");
            }
            Modality m;
            if (strings.Length > 0)
            {
                m = Modality.Text;
            }
            else
            {
                var name = parse.GetValue(modality) ?? throw new ArgumentException("--input needs --modality (vision, video, audio, depth, thermal, imu, text)");
                m = ModelCli.ParseModality(name, "--modality");
            }
            using var package = ModelCli.Open(parse.GetValue(model)!, parse, [m]);
            using var service = new EmbeddingService(package);
            var items = strings.Length > 0 ? strings : files;
            var tensor = parse.GetValue(ModelCli.Tensor);
            if (tensor && strings.Length > 0)
            {
                throw new ArgumentException("--tensor applies to --input .npy files, not to --text");
            }
            var embeddings = new float[items.Length][];
            for (var i = 0; i < items.Length; i++)
            {
                embeddings[i] = ModelCli.Embed(package, service, m, items[i], isFile: strings.Length == 0, tensor);
            }
            if (parse.GetValue(output) is { } outPath)
            {
                var flat = embeddings.SelectMany(e => e).ToArray();
                NpyFile.Write(outPath, flat, items.Length, service.Dimension);
                Console.WriteLine($"{outPath}: {items.Length} x {service.Dimension} float32 embeddings ({package.Name}, {m.ToConfigName()})");
                return CliApp.ExitOk;
            }
            for (var i = 0; i < items.Length; i++)
            {
                var e = embeddings[i];
                var norm = Math.Sqrt(e.Sum(x => (double)x * x));
                var line = JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["input"] = items[i],
                    ["modality"] = m.ToConfigName(),
                    ["model"] = package.Name,
                    ["dim"] = e.Length,
                    ["norm"] = Math.Round(norm, 6),
                    ["embedding"] = e.Select(x => Math.Round((double)x, 6)).ToArray(),
                });
                Console.WriteLine(line);
            }
            return CliApp.ExitOk;
        });
        return command;
    }
}
