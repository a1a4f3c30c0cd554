using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Engine.Peer.Admin;
using Engine.Peer.Configuration;
using Engine.Peer.Hosting;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Engine.Peer;

/// <summary>
/// <c>Engine.Peer --config peer.yaml</c> runs one gossip peer until SIGINT/SIGTERM; <c>Engine.Peer status --peer HOST:PORT</c>
/// prints what a running peer sees. Exit codes: 0 clean stop, 1 the peer failed (e.g. a port taken), 2 bad configuration
/// or arguments.
/// </summary>
internal static class Program
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitBadConfig = 2;

    public static int Main(string[] args) => BuildCommand(Console.Out, Console.Error).Parse(args).Invoke(new InvocationConfiguration
    {
        // The peer handles SIGINT/SIGTERM itself (PosixSignalRegistration) so it always stops cleanly and writes its final line.
        ProcessTerminationTimeout = null,
        EnableDefaultExceptionHandler = false,
    });

    internal static RootCommand BuildCommand(TextWriter output, TextWriter error)
    {
        var config = new Option<string?>("--config", "-c") { Description = "the peer's YAML configuration file (see docs/CONFIGURATION.md)" };
        var set = new Option<string[]>("--set")
        {
            Description = "override one key, e.g. --set gossip.aliveTimeInterval=2s (repeatable; wins over the file and ENGINE_* variables)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var logFormat = new Option<string?>("--log-format") { Description = "console log format: simple or json (same as --set log.format=...)" };
        logFormat.AcceptOnlyFromAmong("simple", "json");
        var printConfig = new Option<bool>("--print-config")
        {
            Description = "print the effective configuration (every key, its value and where it came from) and exit",
        };

        var parentPid = new Option<int?>("--parent-pid")
        {
            Description = "stop cleanly when the process with this id exits (set by launchers such as the load generator's --processes, so a peer never outlives it)",
        };
        parentPid.Validators.Add(r =>
        {
            int? v;
            try
            {
                v = r.GetValueOrDefault<int?>();
            }
            catch (InvalidOperationException)
            {
                return; // not a number: System.CommandLine reports it, naming the option
            }

            if (v <= 0)
            {
                r.AddError($"--parent-pid must be a process id, was {v}");
            }
        });

        var root = new RootCommand("Engine peer: runs one gossip peer from a YAML configuration until SIGINT/SIGTERM.")
        {
            config, set, logFormat, printConfig, parentPid,
            StatusCommand(output, error),
            CertsCommand(output, error),
            OrdererCommand(output, error),
        };
        root.SetAction((parse, ct) =>
        {
            var sets = new List<string>(parse.GetValue(set) ?? []);
            if (parse.GetValue(logFormat) is { } format)
            {
                sets.Add("log.format=" + format);
            }

            PeerSettings settings;
            try
            {
                settings = PeerConfigLoader.Load(parse.GetValue(config), Environment.GetEnvironmentVariables(), sets);
            }
            catch (ConfigException e)
            {
                error.WriteLine($"Engine.Peer: the configuration has {e.Errors.Count} problem{(e.Errors.Count == 1 ? "" : "s")}; the peer did not start:");
                foreach (var problem in e.Errors)
                {
                    error.WriteLine("  " + problem);
                }

                return Task.FromResult(ExitBadConfig);
            }

            if (parse.GetValue(printConfig))
            {
                PrintConfig(settings, output);
                return Task.FromResult(ExitOk);
            }

            return RunPeerAsync(settings, parse.GetValue(parentPid), error);
        });
        return root;
    }

    /// <summary>
    /// <c>certs --orgs Org1,Org2 --peers 2 --out DIR</c>: a network's crypto material (the role of Fabric's cryptogen): per org
    /// a CA, per peer a certificate it issued, as PEM files (layout in docs/SECURITY.md). Existing material is never overwritten.
    /// </summary>
    internal static Command CertsCommand(TextWriter output, TextWriter error)
    {
        var orgs = new Option<string>("--orgs") { Description = "comma-separated org (MSP) ids", DefaultValueFactory = _ => "Org1,Org2" };
        var peers = new Option<int>("--peers") { Description = "peers per org", DefaultValueFactory = _ => 2 };
        var outDir = new Option<string>("--out") { Description = "directory to write into (created; existing org material is refused)", Required = true };
        var command = new Command("certs", "Generate a network's crypto material: an ECDSA P-256 CA per org and a certificate per peer, as PEM files.")
        {
            orgs, peers, outDir,
        };
        command.SetAction(parse =>
        {
            string[] orgIds = parse.GetValue(orgs)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            string root = parse.GetValue(outDir)!;
            try
            {
                var written = Engine.Security.CryptoMaterial.Generate(root, orgIds, parse.GetValue(peers));
                foreach (string directory in written)
                {
                    output.WriteLine(directory);
                }

                output.WriteLine($"crypto material for {orgIds.Length} org(s), {written.Count} peer(s) written under {Path.GetFullPath(root)}");
                return ExitOk;
            }
            catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"Engine.Peer certs: {e.Message}");
                return ExitBadConfig;
            }
        });
        return command;
    }

    private static Command StatusCommand(TextWriter output, TextWriter error)
    {
        var peer = new Option<string>("--peer", "-p")
        {
            Description = "the peer's (or orderer's) admin address, its admin.listenAddress, HOST:PORT",
            DefaultValueFactory = _ => "127.0.0.1:9443",
        };
        peer.Validators.Add(r =>
        {
            string? v = r.GetValueOrDefault<string>();
            if (!PeerEndpoint.TryParse(v, out _, out string? why))
            {
                r.AddError($"--peer '{v}' is not HOST:PORT: {why}");
            }
        });
        var json = new Option<bool>("--json") { Description = "print the status as JSON instead of a table" };
        var timeout = new Option<TimeSpan>("--timeout")
        {
            Description = "give up after this long (hh:mm:ss; default 00:00:05)",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(5),
        };
        var command = new Command("status", "Print a running peer's membership view, its channels (leaders, channel view, ledger heights) and counters; or, given an orderer's admin port, the orderer's channels and delivery streams.")
        {
            peer, json, timeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            var endpoint = PeerEndpoint.Parse(parse.GetValue(peer)!);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(parse.GetValue(timeout));
            try
            {
                var response = await AdminClient.SendAsync(endpoint, new AdminRequest(AdminProtocol.StatusCommand), cts.Token);
                if (parse.GetValue(json))
                {
                    output.WriteLine(JsonSerializer.Serialize(response, AdminProtocol.Json.AdminResponse));
                }
                else if (response.Status is { } status)
                {
                    StatusPrinter.Print(status, output);
                }
                else if (response.Orderer is { } orderer)
                {
                    StatusPrinter.Print(orderer, output);
                }
                else
                {
                    throw new AdminException($"the admin port at {endpoint} answered without a status");
                }

                return ExitOk;
            }
            catch (AdminException e)
            {
                error.WriteLine($"Engine.Peer status: {e.Message}");
                return ExitFailed;
            }
            catch (OperationCanceledException)
            {
                error.WriteLine($"Engine.Peer status: no answer from {endpoint} within {parse.GetValue(timeout)}");
                return ExitFailed;
            }
        });
        return command;
    }

    /// <summary>Polls (twice a second) whether the launcher is still there; when it is gone, the peer stops like on SIGTERM.</summary>
    private static async Task WatchParentAsync(int pid, CancellationTokenSource stop, Action<string> setReason)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
        {
            if (!IsRunning(pid))
            {
                setReason($"parent process {pid} exited");
                stop.Cancel();
                return;
            }
        }
    }

    internal static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// SIGINT/SIGTERM (and, with --parent-pid, the launcher's exit) turned into a cancellation with its reason, so a
    /// process always stops cleanly and writes its final line.
    /// </summary>
    private sealed class StopSignal : IDisposable
    {
        private readonly PosixSignalRegistration _sigint;
        private readonly PosixSignalRegistration _sigterm;

        public StopSignal()
        {
            _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        }

        public CancellationTokenSource Stop { get; } = new();

        public string Reason { get; set; } = "";

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // keep the process alive until it has stopped
            Reason = $"{context.Signal} received";
            Stop.Cancel();
        }

        /// <summary>Returns when a signal arrives (or the parent exits).</summary>
        public async Task WaitAsync(int? parentPid)
        {
            if (parentPid is int watched)
            {
                _ = WatchParentAsync(watched, Stop, r => Reason = r);
            }

            try
            {
                await Task.Delay(Timeout.Infinite, Stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose()
        {
            _sigint.Dispose();
            _sigterm.Dispose();
            Stop.Dispose();
        }
    }

    /// <summary>Runs the peer until SIGINT or SIGTERM (or its launcher's exit, with --parent-pid), then stops it cleanly.</summary>
    private static async Task<int> RunPeerAsync(PeerSettings settings, int? parentPid, TextWriter error)
    {
        using var loggerFactory = CreateLoggerFactory(settings.LogLevel, settings.LogFormat);
        using var signal = new StopSignal();

        IPeerRuntime runtime;
        try
        {
            settings.LoadCryptoMaterial();
            runtime = new GossipNodeRuntime(settings.Gossip, loggerFactory, settings.Channels, settings.PeerId);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"Engine.Peer: the configuration is not usable: {e.Message}");
            return ExitBadConfig;
        }
        catch (PeerStartException e)
        {
            error.WriteLine($"Engine.Peer: the peer could not start: {e.Message}");
            return ExitFailed;
        }

        await using var host = new PeerHost(settings, runtime, loggerFactory);
        try
        {
            await host.StartAsync(signal.Stop.Token);
        }
        catch (OperationCanceledException)
        {
            return ExitOk;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Logged by the host already; the operator also sees it on stderr without a stack trace.
            error.WriteLine($"Engine.Peer: the peer could not start: {e.Message}");
            return ExitFailed;
        }

        await signal.WaitAsync(parentPid);
        await host.StopAsync(signal.Reason);
        return ExitOk;
    }

    /// <summary>
    /// <c>orderer --config orderer.yaml</c> runs the library's orderer as its own process until SIGINT/SIGTERM;
    /// <c>orderer cut</c> and <c>orderer anchors</c> ask a running one, through its admin port, to cut a block or an anchor update.
    /// </summary>
    internal static Command OrdererCommand(TextWriter output, TextWriter error)
    {
        var config = new Option<string?>("--config", "-c") { Description = "the orderer's YAML configuration (docs/CONFIGURATION.md, section \"The orderer process\")" };
        var logFormat = new Option<string?>("--log-format") { Description = "console log format: simple or json (overrides log.format)" };
        logFormat.AcceptOnlyFromAmong("simple", "json");
        var parentPid = new Option<int?>("--parent-pid") { Description = "stop cleanly when the process with this id exits" };
        var command = new Command("orderer",
            "Run an orderer (the network's block source) from a YAML configuration until SIGINT/SIGTERM: its channels, their orgs and anchor peers, and the rate blocks are cut at.")
        {
            config, logFormat, parentPid,
            OrdererCutCommand(output, error),
            OrdererAnchorsCommand(output, error),
        };
        command.SetAction((parse, ct) =>
        {
            if (parse.GetValue(config) is not { } path)
            {
                error.WriteLine("Engine.Peer orderer: --config is required (an orderer.yaml; tools/Engine.Peer/orderer.yaml is a sample)");
                return Task.FromResult(ExitBadConfig);
            }

            Ordering.OrdererSettings settings;
            try
            {
                settings = Ordering.OrdererSettings.Load(path, parse.GetValue(logFormat));
            }
            catch (ConfigException e)
            {
                error.WriteLine($"Engine.Peer orderer: the configuration has {e.Errors.Count} problem{(e.Errors.Count == 1 ? "" : "s")}; the orderer did not start:");
                foreach (var problem in e.Errors)
                {
                    error.WriteLine("  " + problem);
                }

                return Task.FromResult(ExitBadConfig);
            }

            return RunOrdererAsync(settings, parse.GetValue(parentPid), error);
        });
        return command;
    }

    private static async Task<int> RunOrdererAsync(Ordering.OrdererSettings settings, int? parentPid, TextWriter error)
    {
        using var loggerFactory = CreateLoggerFactory(settings.LogLevel, settings.LogFormat);
        using var signal = new StopSignal();
        await using var host = new Ordering.OrdererHost(settings, loggerFactory);
        try
        {
            await host.StartAsync(signal.Stop.Token);
        }
        catch (OperationCanceledException)
        {
            return ExitOk;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error.WriteLine($"Engine.Peer orderer: the orderer could not start: {e.Message}");
            return ExitFailed;
        }

        await signal.WaitAsync(parentPid);
        await host.StopAsync(signal.Reason);
        return ExitOk;
    }

    private static Option<string> AdminOption(string defaultValue)
    {
        var admin = new Option<string>("--admin", "-a")
        {
            Description = "the orderer's admin address (its admin.listenAddress), HOST:PORT",
            DefaultValueFactory = _ => defaultValue,
        };
        admin.Validators.Add(r =>
        {
            string? v = r.GetValueOrDefault<string>();
            if (!PeerEndpoint.TryParse(v, out _, out string? why))
            {
                r.AddError($"--admin '{v}' is not HOST:PORT: {why}");
            }
        });
        return admin;
    }

    private static Command OrdererCutCommand(TextWriter output, TextWriter error)
    {
        var admin = AdminOption("127.0.0.1:8443");
        var channel = new Option<string>("--channel") { Description = "the channel to cut a block in", Required = true };
        var bytes = new Option<int?>("--bytes") { Description = "the block's size in bytes (default: the channel's blockBytes)" };
        var command = new Command("cut", "Ask a running orderer to cut one block now (its first 8 bytes are the cut time).") { admin, channel, bytes };
        command.SetAction((parse, ct) => AdminCallAsync(parse.GetValue(admin)!,
            new AdminRequest(AdminProtocol.CutCommand, parse.GetValue(channel), Bytes: parse.GetValue(bytes)),
            r => $"cut block {r.Block} in {parse.GetValue(channel)}", output, error, ct));
        return command;
    }

    private static Command OrdererAnchorsCommand(TextWriter output, TextWriter error)
    {
        var admin = AdminOption("127.0.0.1:8443");
        var channel = new Option<string>("--channel") { Description = "the channel", Required = true };
        var org = new Option<string>("--org") { Description = "the org whose anchor peers change", Required = true };
        var anchors = new Option<string>("--anchors")
        {
            Description = "its anchor peers, HOST:PORT separated by commas or spaces (empty: none)",
            DefaultValueFactory = _ => "",
        };
        var command = new Command("anchors", "Ask a running orderer to cut a config block that sets an org's anchor peers.") { admin, channel, org, anchors };
        command.SetAction((parse, ct) => AdminCallAsync(parse.GetValue(admin)!,
            new AdminRequest(AdminProtocol.AnchorsCommand, parse.GetValue(channel), parse.GetValue(org), ConfigValueParsers.SplitList(parse.GetValue(anchors)!)),
            r => $"config block {r.Block} in {parse.GetValue(channel)}: anchor peers of {parse.GetValue(org)} are [{parse.GetValue(anchors)}]", output, error, ct));
        return command;
    }

    private static async Task<int> AdminCallAsync(string admin, AdminRequest request, Func<AdminResponse, string> describe, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        var endpoint = PeerEndpoint.Parse(admin);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var response = await AdminClient.SendAsync(endpoint, request, cts.Token);
            output.WriteLine(describe(response));
            return ExitOk;
        }
        catch (AdminException e)
        {
            error.WriteLine($"Engine.Peer orderer {request.Command}: {e.Message}");
            return ExitFailed;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine($"Engine.Peer orderer {request.Command}: no answer from {endpoint} within 5 s");
            return ExitFailed;
        }
    }

    internal static ILoggerFactory CreateLoggerFactory(LogLevel level, LogFormat format) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(level);
        if (format == LogFormat.Json)
        {
            builder.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.ColorBehavior = Console.IsOutputRedirected ? LoggerColorBehavior.Disabled : LoggerColorBehavior.Default;
            });
        }
    });

    private static void PrintConfig(PeerSettings settings, TextWriter output)
    {
        int width = ConfigSchema.Keys.Max(k => k.Path.Length);
        foreach (var key in ConfigSchema.Keys)
        {
            string source = settings.Sources.TryGetValue(key.Path, out string? s) ? s : "default";
            string value = key.Read(settings);
            output.WriteLine($"{key.Path.PadRight(width)}  {(value.Length == 0 ? "\"\"" : value),-22}  # {source}{(key.NotInEffect is null ? "" : "; no effect yet: " + key.NotInEffect)}");
        }
    }
}
