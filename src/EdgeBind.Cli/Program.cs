using System.CommandLine;
using EdgeBind.Cli;
using EdgeBind.Cli.Commands;

// Each command lives in Commands/; adding one is one file plus one line here.
var root = new RootCommand("EdgeBind: real-time sensor fusion runtime for edge devices (ImageBind-style joint embeddings).");
root.Options.Add(CliApp.VerboseOption);
root.Subcommands.Add(ValidateCommand.Create());
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(PreprocessCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(DevicesCommand.Create());
root.Subcommands.Add(RecordCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(EmbedCommand.Create());
root.Subcommands.Add(SimilarityCommand.Create());
return await CliApp.InvokeAsync(root, args).ConfigureAwait(false);
