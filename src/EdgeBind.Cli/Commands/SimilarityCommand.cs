using System.CommandLine;
using System.Globalization;
using System.Numerics.Tensors;
using EdgeBind.Core;
using EdgeBind.Inference;

namespace EdgeBind.Cli.Commands;

/// <summary>
/// <c>edgebind similarity --model DIR --a M:FILE --b M:FILE...</c>: cosine similarity of A against each B,
/// where each input is <c>modality:path</c> or <c>text:words</c> (e.g. <c>vision:dog.jpg</c>, <c>text:a dog</c>); files are raw
/// recordings unless <c>--tensor</c> says they are preprocessed .npy tensors.
/// </summary>
public static class SimilarityCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model package directory.", Required = true };
        var a = new Option<string>("--a") { Description = "The reference: modality:FILE or text:\"words\".", Required = true };
        var b = new Option<string[]>("--b") { Description = "Inputs to compare with --a: modality:FILE or text:\"words\".", Required = true, AllowMultipleArgumentsPerToken = true };
        var command = new Command("similarity", "Cosine similarity between one input and others, across modalities.") { model, a, b, ModelCli.Tensor };
        ModelCli.AddExecutionOptions(command);
        command.SetAction(parse =>
        {
            var reference = Parse(parse.GetValue(a)!, "--a");
            var others = parse.GetValue(b)!.Select(x => Parse(x, "--b")).ToList();
            var modalities = others.Select(o => o.Modality).Append(reference.Modality).Distinct().ToList();
            using var package = ModelCli.Open(parse.GetValue(model)!, parse, modalities);
            using var service = new EmbeddingService(package);
            var tensor = parse.GetValue(ModelCli.Tensor);
            float[] Embed((Modality Modality, string Input) x) =>
                ModelCli.Embed(package, service, x.Modality, x.Input, isFile: x.Modality != Modality.Text, tensor && x.Modality != Modality.Text);
            var ea = Embed(reference);
            foreach (var other in others)
            {
                var eb = Embed(other);
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,9:F6}  {1}:{2}", TensorPrimitives.Dot<float>(ea, eb), other.Modality.ToConfigName(), other.Input));
            }
            return CliApp.ExitOk;
        });
        return command;
    }

    private static (Modality Modality, string Input) Parse(string spec, string option)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"{option}: expected modality:FILE or text:\"words\", found \"{spec}\"");
        }
        var modality = ModelCli.ParseModality(spec[..colon], option);
        var input = spec[(colon + 1)..];
        // text:"a dog" reaches us with its quotes when the shell did not take them (inside single quotes).
        if (modality == Modality.Text && input.Length >= 2 && input[0] == input[^1] && input[0] is '"' or '\'')
        {
            input = input[1..^1];
        }
        return (modality, input);
    }
}
