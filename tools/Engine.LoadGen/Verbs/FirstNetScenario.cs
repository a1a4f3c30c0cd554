using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Channels;
using Engine.Ledger;
using Engine.LoadGen.Output;
using Engine.LoadGen.Peers;
using Engine.Node;
using Engine.Ordering;
using Engine.Peer.Admin;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>One step of the replay as the peers reported it.</summary>
/// <param name="Name">What the step did.</param>
/// <param name="Settled">True when the state the step waits for was reached in time.</param>
/// <param name="Reachable">Per peer: the peers it sees alive (names).</param>
/// <param name="Leaders">Per org: the peers that lead it in the channel, by their own state.</param>
/// <param name="Views">Per peer that joined the channel: the peers in its channel membership view.</param>
internal sealed record FirstNetStep(string Name, bool Settled, IReadOnlyDictionary<string, string[]> Reachable,
    IReadOnlyDictionary<string, string[]> Leaders, IReadOnlyDictionary<string, string[]> Views);

/// <summary>
/// A block of the replay: who the orderer sent it to and when each peer committed it (ms after the cut; NaN when only the
/// commit is known, not its time, as across processes).
/// </summary>
internal sealed record FirstNetBlock(ulong Seq, string[] Deliveries, IReadOnlyDictionary<string, double> Commits);

/// <summary>The replay's outcome.</summary>
/// <param name="Processes">True when every peer and the orderer ran as its own Engine.Peer process (<c>--processes</c>).</param>
internal sealed record FirstNetResult(IReadOnlyList<FirstNetStep> Steps, IReadOnlyList<FirstNetBlock> Blocks, bool EndStateReached, bool Processes = false)
{
    /// <summary>Where each peer and the orderer listened (name to host:port).</summary>
    public IReadOnlyDictionary<string, string> Endpoints { get; init; } = new Dictionary<string, string>();

    public JsonObject ToJson()
    {
        var steps = new JsonArray();
        foreach (var step in Steps)
        {
            steps.Add(new JsonObject
            {
                ["name"] = step.Name,
                ["leaders"] = Map(step.Leaders),
                ["views"] = Map(step.Views),
            });
        }

        var blocks = new JsonArray();
        foreach (var block in Blocks)
        {
            var commits = new JsonObject();
            foreach (var (peer, ms) in block.Commits.OrderBy(c => c.Value))
            {
                commits[peer] = double.IsNaN(ms) ? null : Math.Round(ms, 3);
            }

            blocks.Add(new JsonObject
            {
                ["seq"] = block.Seq,
                ["deliveries"] = new JsonArray([.. block.Deliveries.Select(d => (JsonNode)d)]),
                ["commits"] = commits,
            });
        }

        return new JsonObject
        {
            ["steps"] = steps,
            ["blocks"] = blocks,
            ["end_state_reached"] = EndStateReached,
            ["processes"] = Processes,
            ["endpoints"] = new JsonObject([.. Endpoints.Select(e => KeyValuePair.Create(e.Key, (JsonNode?)e.Value))]),
        };
    }

    private static JsonObject Map(IReadOnlyDictionary<string, string[]> map)
    {
        var json = new JsonObject();
        foreach (var (key, values) in map)
        {
            json[key] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        }

        return json;
    }
}

/// <summary>
/// The seed's first network, replayed with Engine's own processes' worth of nodes over real sockets on 127.0.0.1: an
/// orderer, Org1 and Org2 with peer0 and peer1 each, channel mychannel, step by step in the seed's order, with Fabric's
/// timings divided by <see cref="Scale"/>. After each step it reads from the peers' own state who is reachable, who
/// leads which org and each peer's channel membership view; for each block, whom the orderer delivered it to and when
/// each peer committed it. With <c>processes</c> the orderer and each peer run as their own Engine.Peer OS process
/// (<see cref="ProcessPeer"/>), configured with the same timings, driven through the orderer's admin port (<c>anchors</c>,
/// <c>cut</c>) and read through every process's admin port (<c>status</c>).
/// </summary>
internal sealed class FirstNetScenario(bool noBootstrap, bool processes = false)
{
    /// <summary>Fabric's timings are divided by this.</summary>
    public const int Scale = 10;

    public const string Channel = "mychannel";

    private static readonly TimeSpan StepLimit = TimeSpan.FromSeconds(15);
    private static readonly string[] PeerNames = ["peer0.org1", "peer1.org1", "peer0.org2", "peer1.org2"];

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, PeerEndpoint> _endpoints = [];
    private readonly Dictionary<PeerEndpoint, string> _names = [];
    private readonly Dictionary<string, GossipNode> _nodes = [];
    private readonly List<FirstNetStep> _steps = [];
    private readonly ConcurrentDictionary<ulong, double> _cuts = new();
    private readonly ConcurrentDictionary<ulong, ConcurrentQueue<string>> _deliveries = new();
    private readonly ConcurrentDictionary<ulong, ConcurrentDictionary<string, double>> _commits = new();
    private readonly ConcurrentQueue<string> _logLines = new();
    private readonly Lock _nodesLock = new();
    private readonly Dictionary<string, List<(double X, double Y)>> _aliveCurves = PeerNames.ToDictionary(p => p, _ => new List<(double X, double Y)>());
    private readonly List<ChartMarker> _stepMarkers = [];
    private readonly Dictionary<string, ProcessPeer> _processPeers = [];
    private readonly Dictionary<ulong, DeliveryCount> _countedDeliveries = [];
    private PeerEndpoint _ordererEndpoint;
    private ProcessPeer? _ordererProcess;

    /// <summary>
    /// The replay as a picture: for each peer, how many of the other three it sees alive over time (sampled every 100 ms),
    /// with each step marked — Org1 and Org2 see each other only once the anchors are configured.
    /// </summary>
    public (List<ChartSeries> Series, List<ChartMarker> Markers) Curves()
    {
        lock (_nodesLock)
        {
            return ([.. PeerNames.Select(p => new ChartSeries(p, [.. _aliveCurves[p]]))], [.. _stepMarkers]);
        }
    }

    /// <summary>The timings each peer runs with (Fabric's defaults divided by <see cref="Scale"/>).</summary>
    public static GossipOptions Timings(GossipOptions options)
    {
        options.AliveTimeInterval = TimeSpan.FromSeconds(5) / Scale;
        options.AliveExpirationTimeout = TimeSpan.FromSeconds(25) / Scale;
        options.ReconnectInterval = TimeSpan.FromSeconds(25) / Scale;
        options.PullInterval = TimeSpan.FromSeconds(4) / Scale;
        options.DigestWaitTime = TimeSpan.FromSeconds(1) / Scale;
        options.RequestWaitTime = TimeSpan.FromSeconds(1.5) / Scale;
        options.ResponseWaitTime = TimeSpan.FromSeconds(2) / Scale;
        options.PublishStateInfoInterval = TimeSpan.FromSeconds(4) / Scale;
        options.RequestStateInfoInterval = TimeSpan.FromSeconds(4) / Scale;
        options.OrdererRetryInterval = TimeSpan.FromSeconds(1) / Scale;
        options.Election.StartupGracePeriod = TimeSpan.FromSeconds(15) / Scale;
        options.Election.MembershipSampleInterval = TimeSpan.FromSeconds(1) / Scale;
        options.Election.LeaderAliveThreshold = TimeSpan.FromSeconds(10) / Scale;
        options.Election.LeaderElectionDuration = TimeSpan.FromSeconds(5) / Scale;
        options.State.CheckInterval = TimeSpan.FromSeconds(10) / Scale;
        options.State.ResponseTimeout = TimeSpan.FromSeconds(3) / Scale;
        return options;
    }

    public async Task<FirstNetResult> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var sample = Timings(new GossipOptions());
        console.MarkupLine($"[bold]firstnet[/]: the seed's first network on 127.0.0.1, {(noBootstrap ? "[yellow]without bootstrap peers[/]" : "each peer bootstrapping to the other peer of its org")}"
            + (processes ? ", [bold]the orderer and each peer an Engine.Peer process of its own[/]" : ""));
        console.MarkupLine($"Timings are Fabric's defaults divided by {Scale}: alive every {Ms(sample.AliveTimeInterval)}, dead after {Ms(sample.AliveExpirationTimeout)}, " +
            $"bootstrap retry {Ms(sample.ReconnectInterval)}, pull every {Ms(sample.PullInterval)}, StateInfo every {Ms(sample.PublishStateInfoInterval)}; election: " +
            $"grace {Ms(sample.Election.StartupGracePeriod)}, sample {Ms(sample.Election.MembershipSampleInterval)}, leader alive threshold {Ms(sample.Election.LeaderAliveThreshold)}, " +
            $"election {Ms(sample.Election.LeaderElectionDuration)}.");

        if (processes)
        {
            console.MarkupLine("Across processes the orderer creates mychannel at its start (its configuration: genesis block #0, no anchor peers) and each peer "
                + "joins it at its own start (peer.channels), fetching block #0 from the orderer; the steps are read through each process's admin port (status). "
                + "[yellow]Not available across processes[/]: commit times (a commit is seen in the peer's ledger height, not timed).");
            return await RunProcessesAsync(console, sample, cancellationToken);
        }

        using var loggers = new StepLoggerFactory(this);
        foreach (string name in PeerNames.Append("orderer"))
        {
            var endpoint = PeerEndpoint.Loopback(LoopbackPorts.Free());
            _endpoints[name] = endpoint;
            _names[endpoint] = name;
        }

        _ordererEndpoint = _endpoints["orderer"];
        Orderer? orderer = null;
        byte[]? genesis = null;
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleAsync(stopSampling.Token);
        try
        {
            // 1. The orderer.
            orderer = new Orderer(SocketTransport.Create(new TransportOptions { ListenEndpoint = _ordererEndpoint }), new OrdererOptions(), TimeProvider.System,
                loggers.CreateLogger("Engine.Ordering"))
            {
                BlockCut = (_, seq, _) => _cuts[seq] = _clock.Elapsed.TotalMilliseconds,
                BlockDelivered = (_, seq, peer) => _deliveries.GetOrAdd(seq, _ => new()).Enqueue(NameOf(peer)),
            };
            await orderer.StartAsync(cancellationToken);
            Record(console, "start the orderer", true);

            // 2. peer0.org1 alone: its bootstrap peer is not up yet.
            await StartPeerAsync("peer0.org1", loggers, cancellationToken);
            await Task.Delay(noBootstrap ? sample.AliveTimeInterval : sample.ReconnectInterval * 2, cancellationToken);
            Record(console, noBootstrap ? "start peer0.org1 (no bootstrap peers)" : "start peer0.org1 (its bootstrap peer1.org1 is not up)", true);

            // 3. peer1.org1: the two find each other.
            await StartPeerAsync("peer1.org1", loggers, cancellationToken);
            bool settled = noBootstrap || await WaitAsync(() => Sees("peer0.org1", "peer1.org1") && Sees("peer1.org1", "peer0.org1"), cancellationToken);
            Record(console, "start peer1.org1", settled);

            // 4. Org2.
            await StartPeerAsync("peer0.org2", loggers, cancellationToken);
            await StartPeerAsync("peer1.org2", loggers, cancellationToken);
            settled = noBootstrap || await WaitAsync(() => Sees("peer0.org2", "peer1.org2") && Sees("peer1.org2", "peer0.org2"), cancellationToken);
            Record(console, "start peer0.org2 and peer1.org2", settled);

            // 5. The channel: its genesis block, no anchors yet.
            genesis = orderer.CreateChannel(new ChannelConfiguration(Channel, [new OrgAnchors("Org1", []), new OrgAnchors("Org2", [])]));
            Record(console, $"create channel {Channel} (genesis block #0, no anchor peers)", true);

            // 6. Join the four peers, one after the other: the first of each org becomes its leader.
            foreach (string name in PeerNames)
            {
                _nodes[name].JoinChannel(genesis, _ordererEndpoint);
                await Task.Delay(sample.Election.LeaderElectionDuration, cancellationToken);
            }

            settled = await WaitAsync(
                () => noBootstrap
                    ? PeerNames.All(p => _nodes[p].IsLeader(Channel))
                    : Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1 && PeerNames.All(p => View(p).Length == 1),
                cancellationToken);
            Record(console, "join peer0.org1, peer1.org1, peer0.org2, peer1.org2 to the channel", settled);

            // 7. Org1's anchor: config block #1 (the seed's block #1), delivered to the leaders only.
            ulong org1Anchor = orderer.UpdateAnchors(Channel, "Org1", [_endpoints["peer0.org1"]]);
            settled = await WaitAsync(() => AllCommitted(org1Anchor) && (noBootstrap || ViewsComplete()), cancellationToken);
            if (noBootstrap)
            {
                await WaitAsync(ViewsComplete, cancellationToken, TimeSpan.FromSeconds(2)); // a look at how far gossip got (not required of this step)
            }
            Record(console, $"update Org1's anchor peer to peer0.org1 (config block #{org1Anchor})", settled);

            // 8. Org2's anchor: block #2; after it every peer sees the three others and one leader per org remains.
            ulong org2Anchor = orderer.UpdateAnchors(Channel, "Org2", [_endpoints["peer0.org2"]]);
            settled = await WaitAsync(() => AllCommitted(org2Anchor) && ViewsComplete() && Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1, cancellationToken);
            Record(console, $"update Org2's anchor peer to peer0.org2 (config block #{org2Anchor})", settled);

            // 9. Beyond the seed: one data block shows the end state's delivery (one stream per org). A leader that stepped
            // down closes its stream and the orderer sees the close a moment later: the block is cut once it has.
            bool streamsSettled = await WaitAsync(
                () => orderer.Streams(Channel).SequenceEqual([.. Leaders("Org1").Concat(Leaders("Org2")).Select(p => _endpoints[p]).Order()]), cancellationToken);
            ulong data = orderer.CutBlock(Channel, BitConverter.GetBytes(DateTime.UtcNow.Ticks));
            settled = streamsSettled && await WaitAsync(() => AllCommitted(data), cancellationToken);
            Record(console, $"cut data block #{data} (after the seed's steps: the end state's delivery)", settled);

            var blocks = Blocks();
            PrintBlocks(console, blocks);
            // With bootstrap the first peer of each org to join (peer0) leads for good; without, every peer first leads and the
            // lowest PKI-ID of each org remains (PKI-IDs hash the endpoint, so which one depends on the ports).
            string[] leaders = [.. Leaders("Org1"), .. Leaders("Org2")];
            bool endState = _steps.All(s => s.Settled)
                && Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1
                && (noBootstrap || leaders.SequenceEqual(["peer0.org1", "peer0.org2"]))
                && ViewsComplete()
                && blocks.Single(b => b.Seq == data).Deliveries.SequenceEqual(leaders.Order(StringComparer.Ordinal));
            console.MarkupLine(endState
                ? $"[green]End state reached[/]: one leader per org ({string.Join(", ", leaders)}), every peer sees the three others, the orderer delivers each block to the two leaders."
                : "[red]End state NOT reached[/] (see the steps above).");
            return WithEndpoints(new FirstNetResult(_steps, blocks, endState));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine($"[red]Stopped[/] (--timeout or Ctrl-C) after {_steps.Count} step(s); the end state was not reached.");
            return WithEndpoints(new FirstNetResult(_steps, Blocks(), false));
        }
        finally
        {
            await stopSampling.CancelAsync();
            await sampling;
            foreach (var node in _nodes.Values)
            {
                await node.StopAsync();
            }

            if (orderer is not null)
            {
                await orderer.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// The replay with the orderer and each peer as an Engine.Peer process: the same steps, except that the channel is
    /// created by the orderer at its start and each peer joins it at its own (so "create" and "join" are not steps of
    /// their own); Org2's peer1 starts once peer0 leads, as the in-process run joins them one after the other.
    /// </summary>
    private async Task<FirstNetResult> RunProcessesAsync(IAnsiConsole console, GossipOptions sample, CancellationToken cancellationToken)
    {
        foreach (string name in PeerNames)
        {
            var endpoint = PeerEndpoint.Loopback(LoopbackPorts.Free());
            _endpoints[name] = endpoint;
            _names[endpoint] = name;
        }

        _ordererEndpoint = PeerEndpoint.Loopback(LoopbackPorts.Free());
        _endpoints["orderer"] = _ordererEndpoint;
        _names[_ordererEndpoint] = "orderer";
        string directory = Directory.CreateTempSubdirectory("engine-firstnet-").FullName;
        using var stopSampling = new CancellationTokenSource();
        var sampling = SampleAsync(stopSampling.Token);
        try
        {
            // 1. The orderer, with mychannel (block #0: Org1 and Org2, no anchor peers) and cutting on demand only.
            var admin = PeerEndpoint.Loopback(LoopbackPorts.Free());
            string config = Path.Combine(directory, "orderer.yaml");
            await File.WriteAllTextAsync(config, string.Join('\n',
                "orderer:", "  id: orderer", $"  listenAddress: {_ordererEndpoint}",
                "channels:", $"  - name: {Channel}", "    blocksPerSecond: 0", "    orgs:", "      - name: Org1", "      - name: Org2",
                "admin:", "  enabled: true", $"  listenAddress: {admin}",
                "log:", "  level: warning", ""), cancellationToken);
            _ordererProcess = await ProcessPeer.StartOrdererAsync("orderer", config, _ordererEndpoint, admin, onOutput: null, cancellationToken);
            await RecordAsync(console, "start the orderer", true, cancellationToken);

            // 2. peer0.org1 alone: its bootstrap peer is not up yet.
            await StartProcessAsync("peer0.org1", sample, cancellationToken);
            await Task.Delay(noBootstrap ? sample.AliveTimeInterval : sample.ReconnectInterval * 2, cancellationToken);
            await RecordAsync(console, noBootstrap ? "start peer0.org1 (no bootstrap peers)" : "start peer0.org1 (its bootstrap peer1.org1 is not up)", true, cancellationToken);

            // 3. peer1.org1: the two find each other.
            await StartProcessAsync("peer1.org1", sample, cancellationToken);
            bool settled = noBootstrap || await WaitAsync(() => Sees("peer0.org1", "peer1.org1") && Sees("peer1.org1", "peer0.org1"), cancellationToken);
            await RecordAsync(console, "start peer1.org1", settled, cancellationToken);

            // 4. Org2: peer1 once peer0 has joined and leads (the first of the org to join leads it).
            await StartProcessAsync("peer0.org2", sample, cancellationToken);
            settled = await WaitAsync(() => Look("peer0.org2")?.Leads == true, cancellationToken);
            await StartProcessAsync("peer1.org2", sample, cancellationToken);
            settled &= noBootstrap || await WaitAsync(() => Sees("peer0.org2", "peer1.org2") && Sees("peer1.org2", "peer0.org2"), cancellationToken);
            await RecordAsync(console, "start peer0.org2 and peer1.org2", settled, cancellationToken);

            // 5. Every peer joined mychannel at its start: one leader per org (each peer leads without bootstrap).
            settled = await WaitAsync(
                () => noBootstrap
                    ? PeerNames.All(p => Look(p)?.Leads == true)
                    : Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1 && PeerNames.All(p => View(p).Length == 1),
                cancellationToken);
            await RecordAsync(console, $"join peer0.org1, peer1.org1, peer0.org2, peer1.org2 to the channel (each at its start: peer.channels={Channel}@orderer)", settled, cancellationToken);

            // 6. Org1's anchor: config block #1, through the orderer's admin port.
            ulong org1Anchor = await CutAsync(new AdminRequest(AdminProtocol.AnchorsCommand, Channel, "Org1", [_endpoints["peer0.org1"].ToString()]), cancellationToken);
            settled = await WaitAsync(() => AllCommitted(org1Anchor) && (noBootstrap || ViewsComplete()), cancellationToken);
            if (noBootstrap)
            {
                await WaitAsync(ViewsComplete, cancellationToken, TimeSpan.FromSeconds(2)); // a look at how far gossip got (not required of this step)
            }

            await CountDeliveriesAsync(org1Anchor, cancellationToken);
            await RecordAsync(console, $"update Org1's anchor peer to peer0.org1 (config block #{org1Anchor})", settled, cancellationToken);

            // 7. Org2's anchor: block #2; after it every peer sees the three others and one leader per org remains.
            ulong org2Anchor = await CutAsync(new AdminRequest(AdminProtocol.AnchorsCommand, Channel, "Org2", [_endpoints["peer0.org2"].ToString()]), cancellationToken);
            settled = await WaitAsync(() => AllCommitted(org2Anchor) && ViewsComplete() && Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1, cancellationToken);
            await CountDeliveriesAsync(org2Anchor, cancellationToken);
            await RecordAsync(console, $"update Org2's anchor peer to peer0.org2 (config block #{org2Anchor})", settled, cancellationToken);

            // 8. Beyond the seed: one data block shows the end state's delivery (one stream per org), cut once the orderer
            // has seen the close of any stream a leader that stepped down opened.
            bool streamsSettled = await OrdererStreamsAreTheLeadersAsync(cancellationToken);
            ulong data = await CutAsync(new AdminRequest(AdminProtocol.CutCommand, Channel, Bytes: 8), cancellationToken);
            settled = streamsSettled && await WaitAsync(() => AllCommitted(data), cancellationToken);
            await CountDeliveriesAsync(data, cancellationToken);
            await RecordAsync(console, $"cut data block #{data} (after the seed's steps: the end state's delivery)", settled, cancellationToken);

            var blocks = Blocks();
            PrintBlocks(console, blocks);
            foreach (var (seq, count) in _countedDeliveries.Where(d => d.Value.Counted != d.Value.Streams))
            {
                console.MarkupLine($"[yellow]block #{seq}[/]: the orderer counted {count.Counted} deliveries; {count.Streams} delivery stream(s) were open when it was cut (listed above).");
            }

            string[] leaders = [.. Leaders("Org1"), .. Leaders("Org2")];
            bool endState = _steps.All(s => s.Settled)
                && Leaders("Org1").Length == 1 && Leaders("Org2").Length == 1
                && (noBootstrap || leaders.SequenceEqual(["peer0.org1", "peer0.org2"]))
                && ViewsComplete()
                && blocks.Single(b => b.Seq == data).Deliveries.SequenceEqual(leaders.Order(StringComparer.Ordinal))
                && _countedDeliveries[data].Counted == leaders.Length;
            console.MarkupLine(endState
                ? $"[green]End state reached[/]: one leader per org ({string.Join(", ", leaders)}), every peer sees the three others, the orderer delivers each block to the two leaders."
                : "[red]End state NOT reached[/] (see the steps above).");
            return WithEndpoints(new FirstNetResult(_steps, blocks, endState, Processes: true));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine($"[red]Stopped[/] (--timeout or Ctrl-C) after {_steps.Count} step(s); every process is being stopped; the end state was not reached.");
            return WithEndpoints(new FirstNetResult(_steps, Blocks(), false, Processes: true));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException or AdminException or IOException)
        {
            console.MarkupLine($"[red]The replay failed[/] after {_steps.Count} step(s): {Markup.Escape(e.Message)}");
            return WithEndpoints(new FirstNetResult(_steps, Blocks(), false, Processes: true));
        }
        finally
        {
            await stopSampling.CancelAsync();
            await sampling;
            List<ProcessPeer> all;
            lock (_nodesLock)
            {
                all = [.. _processPeers.Values];
            }

            if (_ordererProcess is not null)
            {
                all.Add(_ordererProcess);
            }

            // SIGTERM to all at once (each stops cleanly, or is killed after 5 s): no process outlives the run.
            await Task.WhenAll(all.Select(p => p.StopAsync().AsTask()));
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Launches <paramref name="name"/> as an Engine.Peer process with the scaled timings, its org, its bootstrap peer and the channel.</summary>
    private async Task StartProcessAsync(string name, GossipOptions t, CancellationToken cancellationToken)
    {
        string org = name.EndsWith("org1", StringComparison.Ordinal) ? "Org1" : "Org2";
        var endpoint = _endpoints[name];
        string Ms(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalMilliseconds}ms");
        var sets = new List<string>
        {
            $"peer.localMspId={org}",
            $"gossip.externalEndpoint={endpoint}",
            $"peer.channels={Channel}@{_ordererEndpoint}",
            $"gossip.aliveTimeInterval={Ms(t.AliveTimeInterval)}",
            $"gossip.aliveExpirationTimeout={Ms(t.AliveExpirationTimeout)}",
            $"gossip.reconnectInterval={Ms(t.ReconnectInterval)}",
            $"gossip.pullInterval={Ms(t.PullInterval)}",
            $"gossip.digestWaitTime={Ms(t.DigestWaitTime)}",
            $"gossip.requestWaitTime={Ms(t.RequestWaitTime)}",
            $"gossip.responseWaitTime={Ms(t.ResponseWaitTime)}",
            $"gossip.publishStateInfoInterval={Ms(t.PublishStateInfoInterval)}",
            $"gossip.requestStateInfoInterval={Ms(t.RequestStateInfoInterval)}",
            $"gossip.ordererRetryInterval={Ms(t.OrdererRetryInterval)}",
            $"gossip.election.startupGracePeriod={Ms(t.Election.StartupGracePeriod)}",
            $"gossip.election.membershipSampleInterval={Ms(t.Election.MembershipSampleInterval)}",
            $"gossip.election.leaderAliveThreshold={Ms(t.Election.LeaderAliveThreshold)}",
            $"gossip.election.leaderElectionDuration={Ms(t.Election.LeaderElectionDuration)}",
            $"gossip.state.checkInterval={Ms(t.State.CheckInterval)}",
            $"gossip.state.responseTimeout={Ms(t.State.ResponseTimeout)}",
            "log.level=information",
            "log.format=json",
        };
        if (!noBootstrap)
        {
            string other = name.StartsWith("peer0", StringComparison.Ordinal) ? name.Replace("peer0", "peer1", StringComparison.Ordinal) : name.Replace("peer1", "peer0", StringComparison.Ordinal);
            sets.Add($"gossip.bootstrap={_endpoints[other]}");
        }

        var process = await ProcessPeer.StartPeerAsync(name, endpoint, sets, onChanged: null, OnPeerOutput, cancellationToken);
        lock (_nodesLock)
        {
            _processPeers[name] = process;
        }
    }

    /// <summary>A line of a peer process's JSON log: kept when it is one of the events the seed's logs showed.</summary>
    private void OnPeerOutput(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty("EventId", out var id) && id.TryGetInt32(out int eventId) && StepLoggerFactory.Shown.Contains(eventId)
                && json.RootElement.TryGetProperty("Message", out var message) && message.GetString() is { } text)
            {
                KeepLog(text);
            }
        }
        catch (JsonException)
        {
            // Not a log line (a process writes only JSON lines with log.format=json; anything else is not the seed's).
        }
    }

    /// <summary>A log line as the step prints it, endpoints replaced by peer names.</summary>
    private void KeepLog(string text)
    {
        foreach (var (endpoint, name) in _names)
        {
            text = text.Replace(endpoint.ToString(), name, StringComparison.Ordinal);
        }

        _logLines.Enqueue(text);
    }

    /// <summary>
    /// Asks the orderer process for a block (an anchor update or a data block) and notes the delivery streams open when it
    /// was cut (the peers it goes to) and the orderer's delivery count, to be compared once every peer committed it.
    /// </summary>
    /// <summary>Polls the orderer process's status until its open delivery streams are exactly the current leaders'; false after the step limit.</summary>
    private Task<bool> OrdererStreamsAreTheLeadersAsync(CancellationToken cancellationToken) =>
        WaitAsync(
            async token => await _ordererProcess!.RefreshAsync(token) && _ordererProcess.OrdererStatus is { } status
                && status.Channels.Single(c => c.Channel == Channel).Streams.Select(stream => NameOf(stream.Peer)).Order(StringComparer.Ordinal)
                    .SequenceEqual(Leaders("Org1").Concat(Leaders("Org2")).Order(StringComparer.Ordinal)),
            cancellationToken);

    private async Task<ulong> CutAsync(AdminRequest request, CancellationToken cancellationToken)
    {
        var orderer = _ordererProcess!;
        if (!await orderer.RefreshAsync(cancellationToken) || orderer.OrdererStatus is not { } before)
        {
            throw new AdminException($"the orderer's admin port at {orderer.Admin} does not answer");
        }

        var response = await orderer.AskAsync(request, cancellationToken);
        ulong seq = response.Block ?? throw new AdminException($"the orderer answered '{request.Command}' without a block number");
        _cuts[seq] = _clock.Elapsed.TotalMilliseconds;
        var streams = before.Channels.Single(c => c.Channel == Channel).Streams;
        var queue = _deliveries.GetOrAdd(seq, _ => new());
        foreach (var stream in streams)
        {
            queue.Enqueue(NameOf(stream.Peer));
        }

        _countedDeliveries[seq] = new DeliveryCount { Before = Counter(before, "deliveries"), Streams = streams.Count };
        return seq;
    }

    /// <summary>After block <paramref name="seq"/> was committed everywhere: how many deliveries the orderer counted for it.</summary>
    private async Task CountDeliveriesAsync(ulong seq, CancellationToken cancellationToken)
    {
        var orderer = _ordererProcess!;
        if (await orderer.RefreshAsync(cancellationToken) && orderer.OrdererStatus is { } after)
        {
            var count = _countedDeliveries[seq];
            count.Counted = Counter(after, "deliveries") - count.Before;
        }
    }

    /// <summary>A block cut across processes: the orderer's delivery counter before it, the deliveries counted for it (-1 until read), the streams open at the cut.</summary>
    private sealed class DeliveryCount
    {
        public long Before { get; init; }

        public long Counted { get; set; } = -1;

        public int Streams { get; init; }
    }

    private static long Counter(Engine.Peer.Ordering.OrdererStatus status, string name) => status.Counters.FirstOrDefault(c => c.Name == name)?.Value ?? 0;

    /// <summary>Reads every process's status afresh, then records the step.</summary>
    private async Task RecordAsync(IAnsiConsole console, string name, bool settled, CancellationToken cancellationToken)
    {
        List<ProcessPeer> all;
        lock (_nodesLock)
        {
            all = [.. _processPeers.Values];
        }

        await Task.WhenAll(all.Select(p => p.RefreshAsync(cancellationToken)));
        await Task.Delay(50, cancellationToken); // the log lines of the last moments reach us through the processes' stdout
        Record(console, name, settled);
    }

    private async Task StartPeerAsync(string name, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        string org = name.EndsWith("org1", StringComparison.Ordinal) ? "Org1" : "Org2";
        var endpoint = _endpoints[name];
        var options = Timings(new GossipOptions { OrgId = org, Endpoint = endpoint, ExternalEndpoint = endpoint });
        options.Transport.ListenEndpoint = endpoint;
        options.Transport.UdpReceiveThread = false;
        if (!noBootstrap)
        {
            string other = name.StartsWith("peer0", StringComparison.Ordinal) ? name.Replace("peer0", "peer1", StringComparison.Ordinal) : name.Replace("peer1", "peer0", StringComparison.Ordinal);
            options.BootstrapPeers.Add(_endpoints[other]);
        }

        var node = new GossipNode(options, SocketTransport.Create(options.Transport), new GossipNodeContext { LoggerFactory = loggers });
        node.BlockCommitted += e =>
        {
            if (e.Channel == Channel)
            {
                _commits.GetOrAdd(e.Number, _ => new())[name] = _clock.Elapsed.TotalMilliseconds;
            }
        };
        await node.StartAsync(cancellationToken);
        lock (_nodesLock)
        {
            _nodes[name] = node;
        }
    }

    /// <summary>Every 100 ms until stopped: how many peers each started peer sees alive.</summary>
    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            lock (_nodesLock)
            {
                double t = _clock.Elapsed.TotalSeconds;
                foreach (var (name, node) in _nodes)
                {
                    _aliveCurves[name].Add((t, node.GetMembership().Alive.Count));
                }

                foreach (var (name, process) in _processPeers)
                {
                    _aliveCurves[name].Add((t, process.AliveCount));
                }
            }

            try
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private Task<bool> WaitAsync(Func<bool> condition, CancellationToken cancellationToken, TimeSpan? limit = null) =>
        WaitAsync(_ => Task.FromResult(condition()), cancellationToken, limit);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds (true) or <paramref name="limit"/> (default: the step limit) passes (false).</summary>
    private async Task<bool> WaitAsync(Func<CancellationToken, Task<bool>> condition, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        var deadline = _clock.Elapsed + (limit ?? StepLimit);
        while (!await condition(cancellationToken))
        {
            if (_clock.Elapsed >= deadline)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken);
        }

        return true;
    }

    /// <summary>A started peer as it reports itself: whom it sees alive, whether it joined the channel, leads, its channel view and ledger height.</summary>
    private sealed record PeerLook(string[] Alive, bool Joined, bool Leads, string[] View, ulong Height);

    /// <summary>The peers started so far, in the seed's order.</summary>
    private IEnumerable<string> Started() => PeerNames.Where(p => processes ? _processPeers.ContainsKey(p) : _nodes.ContainsKey(p));

    /// <summary>What <paramref name="peer"/> reports: from the node in this process, or from its process's last status; null before it runs.</summary>
    private PeerLook? Look(string peer)
    {
        if (processes)
        {
            if (!_processPeers.TryGetValue(peer, out var process) || process.Status is not { } status)
            {
                return null;
            }

            var channel = status.Channels?.FirstOrDefault(c => c.Channel == Channel && c.State == "joined");
            return new PeerLook([.. status.Members.Where(m => m.State == "alive").Select(m => NameOf(m.Endpoint)).Order(StringComparer.Ordinal)],
                channel is not null, channel?.IsLeader ?? false,
                channel is null ? [] : [.. channel.Members.Select(m => NameOf(m.Endpoint)).Order(StringComparer.Ordinal)], channel?.Height ?? 0);
        }

        if (!_nodes.TryGetValue(peer, out var node))
        {
            return null;
        }

        bool joined = node.Channels.Contains(Channel);
        var view = joined ? node.GetChannelView(Channel) : null;
        return new PeerLook([.. node.GetMembership().Alive.Select(m => NameOf(m.Endpoint)).Order(StringComparer.Ordinal)], joined,
            joined && node.IsLeader(Channel), view is null ? [] : [.. view.Members.Select(m => NameOf(m.Endpoint)).Order(StringComparer.Ordinal)], view?.Height ?? 0);
    }

    private bool Sees(string peer, string other) => Look(peer)?.Alive.Contains(other) == true;

    private string[] Leaders(string org) =>
        [.. PeerNames.Where(p => p.EndsWith(org.ToLowerInvariant(), StringComparison.Ordinal) && Look(p)?.Leads == true)];

    private string[] View(string peer) => Look(peer) is { Joined: true } look ? look.View : [];

    private bool ViewsComplete() => PeerNames.All(p => View(p).Length == 3);

    /// <summary>Every peer committed block <paramref name="seq"/>: its commit event here, its ledger height across processes.</summary>
    private bool AllCommitted(ulong seq) => processes
        ? PeerNames.All(p => Look(p) is { Joined: true } look && look.Height > seq)
        : _commits.TryGetValue(seq, out var commits) && PeerNames.All(commits.ContainsKey);

    private string NameOf(PeerEndpoint endpoint) => _names.TryGetValue(endpoint, out var name) ? name : endpoint.ToString();

    private string NameOf(string endpoint) => PeerEndpoint.TryParse(endpoint, out var parsed, out _) ? NameOf(parsed) : endpoint;

    private void Record(IAnsiConsole console, string name, bool settled)
    {
        var reachable = new SortedDictionary<string, string[]>(StringComparer.Ordinal);
        var views = new SortedDictionary<string, string[]>(StringComparer.Ordinal);
        foreach (string peer in Started())
        {
            if (Look(peer) is not { } look)
            {
                continue;
            }

            reachable[peer] = look.Alive;
            if (look.Joined)
            {
                views[peer] = look.View;
            }
        }

        var leaders = new SortedDictionary<string, string[]>(StringComparer.Ordinal);
        if (views.Count > 0)
        {
            leaders["Org1"] = Leaders("Org1");
            leaders["Org2"] = Leaders("Org2");
        }

        var step = new FirstNetStep(name, settled, reachable, leaders, views);
        _steps.Add(step);
        lock (_nodesLock)
        {
            string label = name.Length > 48 ? name[..47] + "…" : name;
            _stepMarkers.Add(new ChartMarker(_clock.Elapsed.TotalSeconds, $"{_steps.Count}. {label}"));
        }

        console.WriteLine();
        console.MarkupLine($"[bold]{_steps.Count}. {Markup.Escape(name)}[/] at {_clock.Elapsed.TotalSeconds:F2} s{(settled ? "" : " [red](did not settle in time)[/]")}");
        var lines = new List<string>();
        while (_logLines.TryDequeue(out var line))
        {
            lines.Add(line);
        }

        foreach (var group in lines.GroupBy(l => l, StringComparer.Ordinal))
        {
            string times = group.Count() > 1 ? $" (x{group.Count()})" : "";
            console.MarkupLine($"   [grey]log:[/] {Markup.Escape(group.Key)}{times}");
        }

        foreach (var (peer, seen) in reachable)
        {
            string view = views.TryGetValue(peer, out var v) ? $"; channel view: [{string.Join(", ", v)}]" : "";
            console.WriteLine($"   {peer}: reaches [{string.Join(", ", seen)}]{view}");
        }

        foreach (var (org, peers) in leaders)
        {
            console.WriteLine($"   leader of {org}: {(peers.Length == 0 ? "none" : string.Join(", ", peers))}");
        }
    }

    private FirstNetResult WithEndpoints(FirstNetResult result) =>
        result with { Endpoints = _endpoints.ToDictionary(e => e.Key, e => e.Value.ToString()) };

    private List<FirstNetBlock> Blocks()
    {
        var blocks = new List<FirstNetBlock>();
        foreach (var (seq, cut) in _cuts.OrderBy(c => c.Key))
        {
            var deliveries = _deliveries.TryGetValue(seq, out var d) ? d.Order(StringComparer.Ordinal).ToArray() : [];
            var commits = processes
                ? PeerNames.Where(p => Look(p) is { Joined: true } look && look.Height > seq).ToDictionary(p => p, _ => double.NaN)
                : _commits.TryGetValue(seq, out var c) ? c.ToDictionary(x => x.Key, x => x.Value - cut) : [];
            blocks.Add(new FirstNetBlock(seq, deliveries, commits));
        }

        return blocks;
    }

    private void PrintBlocks(IAnsiConsole console, List<FirstNetBlock> blocks)
    {
        console.WriteLine();
        var table = new Table().Title(processes
                ? "blocks: deliveries by the orderer and which peers committed them (commit times are not available across processes)"
                : "blocks: deliveries by the orderer and commit time at each peer (ms after the cut)")
            .AddColumn("block").AddColumn("delivered to").AddColumns([.. PeerNames.Select(p => new TableColumn(p).RightAligned())]);
        foreach (var block in blocks)
        {
            table.AddRow([$"#{block.Seq}", $"{block.Deliveries.Length}: {string.Join(", ", block.Deliveries)}",
                .. PeerNames.Select(p => !block.Commits.TryGetValue(p, out double ms) ? "-" : double.IsNaN(ms) ? "committed" : $"{ms:F1}")]);
        }

        console.Write(table);
    }

    private static string Ms(TimeSpan span) => $"{span.TotalMilliseconds:F0} ms";

    /// <summary>Keeps the log lines the seed's logs showed (bootstrap failures and successes, leaders, anchors), with peer names for endpoints.</summary>
    private sealed class StepLoggerFactory(FirstNetScenario owner) : ILoggerFactory
    {
        public static readonly HashSet<int> Shown = [3005, 3006, 3030, 3031, 3032, 6001, 6002, 6104, 6105, 6302, 6303];

        public ILogger CreateLogger(string categoryName) => new StepLogger(owner);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class StepLogger(FirstNetScenario owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!Shown.Contains(eventId.Id))
                {
                    return;
                }

                owner.KeepLog(formatter(state, exception));
            }
        }
    }
}
