using System.CommandLine;
using EdgeBind.Cli;
using EdgeBind.Cli.Commands;

// Each command lives in Commands/; adding one is one file plus one line here.
var root = new RootCommand("EdgeBind: real-time sensor fusion runtime for edge devices (ImageBind-style joint embeddings).");
root.Options.Add(CliApp.VerboseOption);
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
return await CliApp.InvokeAsync(root, args).ConfigureAwait(false);
