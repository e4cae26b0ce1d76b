using System.CommandLine;
using EdgeBind.Core;

namespace EdgeBind.Cli.Commands;

/// <summary><c>edgebind validate FILE</c>: exit 0 when the pipeline file is valid, 2 with the located error otherwise.</summary>
public static class ValidateCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Pipeline file (YAML)." };
        var command = new Command("validate", "Check a pipeline file: exit 0 if valid, 2 with the file, path and problem if not.") { file };
        command.SetAction(parse =>
        {
            // Loading binds every section; Verify opens what start would open (the model package), so a
            // file validate accepts is a file run can start.
            var definition = Composition.LoadPipeline(parse.GetValue(file)!);
            definition.Verify();
            Console.WriteLine($"{definition.File}: valid pipeline '{definition.Name}' with {definition.Sources.Count} sources ({string.Join(", ", definition.Sources.Select(s => $"{s.Id}:{s.Type.Modality.ToConfigName()}"))})");
            return CliApp.ExitOk;
        });
        return command;
    }
}
