using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Engine.Ledger;
using Engine.LoadGen.Output;
using Engine.Node;
using Engine.Ordering;
using Engine.Transport;
using Engine.Transport.Memory;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>Settings of a <c>blocks</c> run.</summary>
/// <param name="RestartPeer">
/// Kill one follower (the last peer of the last org) when a quarter of the blocks are cut and start it again, with an
/// empty ledger, at half: it must catch up (state transfer) and end at the final height like every other peer.
/// </param>
internal sealed record BlocksRunSettings(int Orgs, int PeersPerOrg, int Blocks, int BlockSize, double Rate, double Loss, bool Memory, int Seed, int Window,
    TimeSpan PullInterval, bool RestartPeer = false, bool LazyBlocks = true, int RelayFanout = 0, int ArchiveBlocks = 1000,
    bool Pretouch = false, int WarmupBlocks = 0, HeartbeatMode Heartbeat = HeartbeatMode.Fabric);

/// <summary>
/// Sustained blocks: an orderer and O orgs x P peers in one channel (anchors: each org's peer0, in the genesis block);
/// once every org has one leader and every peer sees its org, the orderer cuts B blocks of BYTES at RATE per second.
/// Reports, from cut to each peer's commit, the latency p50/p99/max; whether every peer committed every block, in order;
/// how many peers the orderer delivered each block to (O when one leader per org holds the only stream); and how many
/// blocks pull repaired. With <see cref="BlocksRunSettings.RestartPeer"/>, one follower is killed and restarted with an
/// empty ledger while blocks flow, and the report says whether and how fast it caught up. With
/// <see cref="BlocksRunSettings.WarmupBlocks"/>, that many blocks are cut first at the same rate and committed everywhere
/// before the measured B (numbered after them): connections, compiled code and the relay tree are then what a running
/// network has, and nothing of the warm-up is counted.
/// </summary>
internal sealed class BlocksScenario(BlocksRunSettings settings)
{
    public const string Channel = "blocks";

    private readonly ConcurrentDictionary<ulong, int> _deliveries = new();
    private readonly ConcurrentBag<double> _latencies = [];
    private readonly ConcurrentDictionary<ulong, double> _slowestCommit = new();
    private readonly ConcurrentQueue<(ulong Seq, double At)> _cuts = new();
    private readonly ConcurrentQueue<(int Peer, ulong Seq, double At)> _heightEvents = new();
    private double _killedAt = double.NaN;
    private PeerSlot? _leaderAtStart;
    private List<PeerSlot> _peers = [];
    private PeerSlot[] _joined = []; // while leaders are elected: the peers that joined the channel (read by the progress display)
    private string _phase = "starting";
    private long _committed;
    private PeerSlot? _restarted;
    private ulong _restartHeight;
    private double _catchUpMs = double.NaN;
    private double _rejoinedAt;
    private ulong _finalHeight;
    private double _idleCores = double.NaN;
    private double _gcPauseMs = double.NaN;
    private int _gcCount;
    private double _streamSeconds = double.NaN;
    private double _streamCpuSeconds = double.NaN;
    private Dictionary<PeerSlot, Dictionary<string, long>> _countersAtStart = [];

    /// <summary>The number of the first measured block (the warm-up blocks come before it).</summary>
    private ulong First => (ulong)settings.WarmupBlocks + 1;

    /// <summary>The number of the last measured block.</summary>
    private ulong Last => (ulong)(settings.WarmupBlocks + settings.Blocks);

    public async Task<RunReport> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        int total = settings.Orgs * settings.PeersPerOrg;
        var policy = NetworkPolicy.Perfect(settings.Seed);
        policy.DropProbability = settings.Loss;
        policy.Delay = TimeSpan.FromMilliseconds(1);
        using var network = PeerNetwork.Create(settings.Memory, total + 1, policy, TimeSpan.FromMilliseconds(10));
        var time = network.Time;
        var endpoints = new PeerEndpoint[total];
        for (int i = 0; i < total; i++)
        {
            endpoints[i] = settings.Memory ? PeerEndpoint.Loopback(checked((ushort)(MemoryNetwork.AutoPort + i))) : PeerEndpoint.Loopback(LoopbackPorts.Free());
        }

        var ordererEndpoint = settings.Memory ? PeerEndpoint.Loopback(7050) : PeerEndpoint.Loopback(LoopbackPorts.Free());
        ITransport ordererTransport = settings.Memory
            ? network.Memory!.CreateTransport(ordererEndpoint)
            : SocketTransport.Create(new TransportOptions { ListenEndpoint = ordererEndpoint, UdpReceiveThread = false });
        await using var orderer = new Orderer(ordererTransport, new OrdererOptions { MaxRetainedBlocks = Math.Max(1000, settings.WarmupBlocks + settings.Blocks + 16) }, time)
        {
            BlockDelivered = (_, seq, _) => _deliveries.AddOrUpdate(seq, 1, static (_, n) => n + 1),
            BlockCut = (_, seq, _) => _cuts.Enqueue((seq, network.ElapsedMs)),
        };
        await orderer.StartAsync(cancellationToken);
        string[] orgs = [.. Enumerable.Range(1, settings.Orgs).Select(o => $"Org{o}")];
        var genesis = orderer.CreateChannel(new ChannelConfiguration(Channel, orgs.Select((org, o) => new OrgAnchors(org, [endpoints[o * settings.PeersPerOrg]]))));
        _peers = [];
        try
        {
            await ProgressDisplay.RunAsync(console, Snapshot, async () =>
            {
                _phase = "starting peers";
                for (int o = 0; o < settings.Orgs; o++)
                {
                    for (int i = 0; i < settings.PeersPerOrg; i++)
                    {
                        int index = (o * settings.PeersPerOrg) + i;
                        var options = FirstNetScenario.Timings(new GossipOptions { OrgId = orgs[o] });
                        // Heartbeats and StateInfo at Fabric's defaults (5 s; 4 s): both flood every peer's message to every
                        // peer, a cost that grows with N² in this one process; at 1 s a 2 x 50 network spent a core on them.
                        options.AliveTimeInterval = TimeSpan.FromSeconds(5);
                        options.AliveExpirationTimeout = TimeSpan.FromSeconds(25);
                        options.ReconnectInterval = TimeSpan.FromSeconds(5);
                        options.BootstrapRetryInterval = TimeSpan.FromMilliseconds(500);
                        options.PullInterval = settings.PullInterval;
                        options.DigestWaitTime = settings.PullInterval / 4;
                        options.RequestWaitTime = settings.PullInterval * 3 / 8;
                        options.ResponseWaitTime = settings.PullInterval / 2;
                        options.State.ResponseTimeout = TimeSpan.FromSeconds(3); // Fabric's: a loaded network answers slowly
                        // Fabric's 10 s: a leader declares every 5 s and followers wait 10 s. Scaled to 1 s, a declaration
                        // delayed by a busy second (GC, a burst of blocks) elected a second leader, and the orderer then
                        // delivered blocks to three peers until one yielded.
                        options.Election.LeaderAliveThreshold = TimeSpan.FromSeconds(10);
                        options.PublishStateInfoInterval = TimeSpan.FromSeconds(4);
                        options.RequestStateInfoInterval = TimeSpan.FromSeconds(4);
                        options.Ledger.MaxBlockCountToStore = settings.Window;
                        options.LazyBlockPush = settings.LazyBlocks;
                        options.BlockRelayFanout = settings.RelayFanout;
                        options.Ledger.ArchiveBlockCount = settings.RestartPeer ? Math.Max(settings.ArchiveBlocks, settings.WarmupBlocks + settings.Blocks) : settings.ArchiveBlocks;
                        options.Ledger.PretouchBytes = PretouchBytes(settings, options.Ledger);
                        options.HeartbeatMode = settings.Heartbeat;
                        if (i > 0)
                        {
                            options.BootstrapPeers.Add(endpoints[o * settings.PeersPerOrg]);
                        }

                        var slot = new PeerSlot($"peer{i}.org{o + 1}", orgs[o], index, options);
                        await StartAsync(slot, network, endpoints[index], cancellationToken);
                        _peers.Add(slot);
                    }
                }

                _phase = "joining the channel";
                foreach (var peer in _peers)
                {
                    peer.Node.JoinChannel(genesis, ordererEndpoint);
                }

                Volatile.Write(ref _joined, [.. _peers]);

                _phase = "electing leaders, spreading StateInfo";
                bool ready = await network.WaitUntilAsync(
                    () => orgs.All(org => _peers.Count(p => p.Org == org && p.Node.IsLeader(Channel)) == 1)
                        && _peers.All(p => p.Node.GetChannelView(Channel).Members.Count(m => m.Org == p.Org) == settings.PeersPerOrg - 1),
                    TimeSpan.FromSeconds(60), cancellationToken);
                if (!ready)
                {
                    console.MarkupLine("[yellow]Leaders or org views did not settle within 60 s; streaming anyway.[/]");
                    ReportUnsettled(console, endpoints);
                }

                // Let the leaders' delivery streams open before the first cut.
                await network.WaitUntilAsync(() => orderer.Streams(Channel).Count >= settings.Orgs, TimeSpan.FromSeconds(10), cancellationToken);
                if (settings.WarmupBlocks > 0)
                {
                    _phase = $"warming up: {settings.WarmupBlocks} blocks, not measured";
                    orderer.StartCutting(Channel, settings.Rate, Math.Max(settings.BlockSize, 8), settings.WarmupBlocks);
                    var warming = TimeSpan.FromSeconds((settings.WarmupBlocks / settings.Rate) + 60);
                    await network.WaitUntilAsync(() => orderer.Height(Channel) >= First, warming, cancellationToken);
                    if (!await network.WaitUntilAsync(() => _peers.All(p => p.Node.GetLedgerHeight(Channel) >= First), TimeSpan.FromSeconds(60), cancellationToken))
                    {
                        console.MarkupLine("[yellow]Not every peer committed the warm-up blocks within 60 s; measuring anyway.[/]");
                    }
                }

                _phase = "streaming blocks";
                Volatile.Write(ref _joined, []); // from here a restarted peer may be between start and join
                _leaderAtStart = _peers.FirstOrDefault(p => p.Node.IsLeader(Channel));
                if (!settings.Memory)
                {
                    // The cost of the network before any block: membership, StateInfo, leadership.
                    var idleCpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                    var idleClock = System.Diagnostics.Stopwatch.StartNew();
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                    _idleCores = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - idleCpu).TotalSeconds / idleClock.Elapsed.TotalSeconds;
                }

                var streamCpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                var streamClock = System.Diagnostics.Stopwatch.StartNew();
                var gcPause = GC.GetTotalPauseDuration();
                int gen2 = GC.CollectionCount(2);
                _countersAtStart = _peers.ToDictionary(p => p, p => Counters([p]));
                orderer.StartCutting(Channel, settings.Rate, Math.Max(settings.BlockSize, 8), settings.Blocks); // stops by itself after the count
                var streaming = TimeSpan.FromSeconds((settings.Blocks / settings.Rate) + 60);
                if (settings.RestartPeer)
                {
                    await RestartOneAsync(network, orderer, endpoints, genesis, ordererEndpoint, streaming, cancellationToken);
                }

                await network.WaitUntilAsync(() => orderer.Height(Channel) > Last, streaming, cancellationToken);
                _finalHeight = orderer.Height(Channel);
                _phase = "waiting for the last commits";
                await network.WaitUntilAsync(() => _peers.All(p => p.Commits.Count >= settings.Blocks && p.Node.GetLedgerHeight(Channel) >= _finalHeight),
                    TimeSpan.FromSeconds(30), cancellationToken);
                _streamSeconds = streamClock.Elapsed.TotalSeconds;
                _gcPauseMs = (GC.GetTotalPauseDuration() - gcPause).TotalMilliseconds;
                _gcCount = GC.CollectionCount(2) - gen2;
                _streamCpuSeconds = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - streamCpu).TotalSeconds;
            });
        }
        finally
        {
            foreach (var peer in _peers)
            {
                await peer.Node.StopAsync();
            }
        }

        return Report();
    }

    /// <summary>
    /// The ledger memory each peer touches when it joins: what its archive and reorder buffer will hold of this run's
    /// blocks (an envelope is the block plus ~1 KiB), within what the options allow; 0 without <see cref="BlocksRunSettings.Pretouch"/>.
    /// </summary>
    internal static long PretouchBytes(BlocksRunSettings settings, LedgerOptions ledger)
    {
        if (!settings.Pretouch)
        {
            return 0;
        }

        long held = Math.Min(Math.Max(ledger.ArchiveBlockCount, ledger.MaxBlockCountToStore), settings.WarmupBlocks + settings.Blocks + 1) + ledger.BlockBufferSize;
        return Math.Min(held * (settings.BlockSize + 1024L), ledger.MaxMemoryBytes);
    }

    /// <summary>Says what kept the start from settling: each org's leaders, and each peer missing some of its org from its channel view (and whether it sees them alive at all).</summary>
    private void ReportUnsettled(IAnsiConsole console, PeerEndpoint[] endpoints)
    {
        foreach (var org in _peers.GroupBy(p => p.Org))
        {
            console.MarkupLineInterpolated($"  {org.Key}: leaders [[{string.Join(", ", org.Where(p => p.Node.IsLeader(Channel)).Select(p => p.Name))}]]");
        }

        foreach (var peer in _peers)
        {
            var inView = peer.Node.GetChannelView(Channel).Members.Select(m => m.Endpoint).ToHashSet();
            var alive = peer.Node.GetMembership().Alive.Select(m => m.Endpoint).ToHashSet();
            var missing = _peers.Where(p => p != peer && p.Org == peer.Org && !inView.Contains(endpoints[p.Index])).ToArray();
            if (missing.Length > 0)
            {
                console.MarkupLineInterpolated($"  {peer.Name} lacks in its channel view: {string.Join(", ", missing.Select(p => p.Name + (alive.Contains(endpoints[p.Index]) ? " (alive, no StateInfo)" : " (not alive)")))}");
            }
        }
    }

    /// <summary>Starts (or restarts: same endpoint and options, a new node with an empty ledger) one peer.</summary>
    private async Task StartAsync(PeerSlot slot, PeerNetwork network, PeerEndpoint endpoint, CancellationToken cancellationToken)
    {
        var transport = network.CreateTransport(slot.Options, slot.Index, endpoint);
        slot.Options.ExternalEndpoint = endpoint;
        var node = new GossipNode(slot.Options, transport, new GossipNodeContext { Time = network.Time, Seed = (settings.Seed * 10_000) + slot.Index + (slot.Restarts * 1000) });
        var commits = new ConcurrentQueue<ulong>();
        bool measured = slot.Restarts == 0; // a restarted peer's catch-up commits are not cut-to-commit latencies
        node.BlockCommitted += e =>
        {
            _heightEvents.Enqueue((slot.Index, e.Number, network.ElapsedMs));
            if (!measured && e.Number + 1 == Volatile.Read(ref _restartHeight))
            {
                _catchUpMs = network.ElapsedMs - _rejoinedAt;
            }

            if (e.Number < First || e.Number > Last)
            {
                return; // genesis, warm-up, or cut after the last measured block
            }

            commits.Enqueue(e.Number - First + 1); // measured blocks count from 1
            Interlocked.Increment(ref _committed);
            if (measured && e.CutAt is { } cut)
            {
                double ms = (e.CommittedAt - cut).TotalMilliseconds;
                _latencies.Add(ms);
                _slowestCommit.AddOrUpdate(e.Number, static (_, latency) => latency, static (_, old, latency) => Math.Max(old, latency), ms);
            }
        };
        await node.StartAsync(cancellationToken);
        slot.Node = node;
        slot.Commits = commits;
    }

    /// <summary>
    /// Kills the last follower of the last org when a quarter of the blocks are cut, starts it again (empty ledger, same
    /// endpoint) at half, rejoins the channel and times its catch-up: until it holds every block cut before it rejoined.
    /// </summary>
    private async Task RestartOneAsync(PeerNetwork network, Orderer orderer, PeerEndpoint[] endpoints, byte[] genesis, PeerEndpoint ordererEndpoint,
        TimeSpan limit, CancellationToken cancellationToken)
    {
        var victim = _peers.LastOrDefault(p => !p.Node.IsLeader(Channel)) ?? _peers[^1]; // a leader only when every peer leads (one per org)
        await network.WaitUntilAsync(() => orderer.Height(Channel) > (ulong)settings.WarmupBlocks + ((ulong)settings.Blocks / 4), limit, cancellationToken);
        _phase = $"{victim.Name} killed";
        _killedAt = network.ElapsedMs;
        await victim.Node.StopAsync();
        await network.WaitUntilAsync(() => orderer.Height(Channel) > (ulong)settings.WarmupBlocks + ((ulong)settings.Blocks / 2), limit, cancellationToken);
        _phase = $"{victim.Name} restarted with an empty ledger, catching up";
        victim.Restarts++;
        await StartAsync(victim, network, endpoints[victim.Index], cancellationToken);
        _restarted = victim;
        _rejoinedAt = network.ElapsedMs;
        Volatile.Write(ref _restartHeight, orderer.Height(Channel));
        victim.Node.JoinChannel(genesis, ordererEndpoint);
    }

    /// <summary>Cut-to-commit latencies (ms) as a CDF: fraction of the measured commits at or below each latency.</summary>
    public List<(double X, double Y)> LatencyCdf()
    {
        var sorted = _latencies.Order().ToArray();
        var points = new List<(double X, double Y)>();
        int step = Math.Max(1, sorted.Length / 500);
        for (int i = 0; i < sorted.Length; i += step)
        {
            points.Add((sorted[i], (i + 1) / (double)sorted.Length));
        }

        if (sorted.Length > 0)
        {
            points.Add((sorted[^1], 1));
        }

        return points;
    }

    /// <summary>
    /// Ledger height over time (s after the first cut): the orderer's, the first peer's (its org's leader at the start) and,
    /// with a restart, the restarted peer's — back at 1 (genesis) when it rejoins with an empty ledger, then catching up —
    /// with the kill and the restart marked.
    /// </summary>
    public (List<ChartSeries> Series, List<ChartMarker> Markers) HeightCurves()
    {
        var cuts = _cuts.Where(c => c.Seq >= 1).ToArray(); // from block #1: the genesis block is cut before the leaders are elected
        double origin = cuts.Length > 0 ? cuts.Min(c => c.At) : 0;
        var series = new List<ChartSeries>
        {
            new("orderer (blocks cut)", [.. cuts.OrderBy(c => c.At).Select(c => ((c.At - origin) / 1000, (double)c.Seq + 1))]),
        };
        var events = _heightEvents.ToArray();
        var watched = new List<PeerSlot>();
        if (_leaderAtStart is { } leader)
        {
            watched.Add(leader);
        }

        if (_peers.FirstOrDefault(p => p != _leaderAtStart && p != _restarted && p.Org == _leaderAtStart?.Org) is { } follower)
        {
            watched.Add(follower);
        }

        if (_restarted is { } r && !watched.Contains(r))
        {
            watched.Add(r);
        }

        foreach (var peer in watched)
        {
            var points = new List<(double X, double Y)>();
            foreach (var e in events.Where(e => e.Peer == peer.Index && e.At >= origin).OrderBy(e => e.At))
            {
                if (peer == _restarted && e.At >= _rejoinedAt && points.Count > 0 && points[^1].X < (_rejoinedAt - origin) / 1000)
                {
                    // Killed: no ledger (height 0) until it rejoins with only the genesis block.
                    double killed = (_killedAt - origin) / 1000, rejoined = (_rejoinedAt - origin) / 1000;
                    points.AddRange([(killed, points[^1].Y), (killed, 0), (rejoined, 0), (rejoined, 1)]);
                }

                points.Add(((e.At - origin) / 1000, (double)e.Seq + 1));
            }

            string role = peer == _restarted ? "killed, restarted empty" : peer == _leaderAtStart ? $"{peer.Org}'s leader" : "follower";
            series.Add(new ChartSeries($"{peer.Name} ({role})", points));
        }

        var markers = new List<ChartMarker>();
        if (_restarted is { } restarted)
        {
            markers.Add(new ChartMarker((_killedAt - origin) / 1000, $"{restarted.Name} killed"));
            markers.Add(new ChartMarker((_rejoinedAt - origin) / 1000, $"{restarted.Name} restarted"));
        }

        return (series, markers);
    }

    private ProgressSnapshot Snapshot()
    {
        long expected = (long)settings.Blocks * Math.Max(1, _peers.Count);
        // What the start waits for: one leader per org, and every peer seeing the rest of its org in the channel.
        var joined = Volatile.Read(ref _joined);
        string leaders = string.Join(" ", joined.GroupBy(p => p.Org).Select(g => g.Count(p => p.Node.IsLeader(Channel)).ToString(CultureInfo.InvariantCulture)));
        int leastView = joined.Length == 0 ? 0 : joined.Min(p => p.Node.GetChannelView(Channel).Members.Count(m => m.Org == p.Org));
        return new ProgressSnapshot(_phase, [
            ("peers", _peers.Count.ToString(CultureInfo.InvariantCulture)),
            ("leaders per org", joined.Length == 0 ? "-" : leaders),
            ("least org view", $"{leastView}/{settings.PeersPerOrg - 1}"),
            ("commits", $"{Interlocked.Read(ref _committed):N0} / {expected:N0}"),
            ("blocks delivered", _deliveries.Count.ToString(CultureInfo.InvariantCulture)),
        ]);
    }

    private RunReport Report()
    {
        var expected = Enumerable.Range(1, settings.Blocks).Select(i => (ulong)i).ToArray();
        bool complete = _peers.All(p => p.Commits.Count == settings.Blocks && p.Commits.Order().SequenceEqual(expected));
        bool inOrder = _peers.All(p => p.Commits.SequenceEqual(p.Commits.Order()) && p.Commits.Distinct().Count() == p.Commits.Count);
        var latencies = _latencies.Order().ToArray();
        var perBlock = expected.Select(b => _deliveries.GetValueOrDefault(b + First - 1)).ToArray();
        ulong final = _finalHeight;
        bool allAtFinal = final > 0 && _peers.All(p => p.Node.GetLedgerHeight(Channel) == final);
        // Counters since the first measured cut; a restarted peer's new node counts from zero, so its old start is not subtracted.
        var now = Counters(_peers);
        long Since(string key) => now[key] - _countersAtStart.Where(kv => kv.Key.Restarts == 0).Sum(kv => kv.Value[key]);
        var report = new RunReport($"Engine blocks: {settings.Orgs} orgs x {settings.PeersPerOrg} peers, {settings.Blocks} blocks of {settings.BlockSize:N0} B at {settings.Rate}/s, "
            + (settings.Memory ? $"memory, {settings.Loss:P0} loss" : "udp/tcp loopback"))
            .Add("orgs", "orgs", settings.Orgs)
            .Add("peers_per_org", "peers per org", settings.PeersPerOrg)
            .Add("blocks", "blocks", settings.Blocks)
            .Add("heartbeat", "how liveness spreads (--heartbeat)", settings.Heartbeat == HeartbeatMode.Swim ? "swim" : "fabric")
            .Add("warmup_blocks", "blocks cut and committed before the measured ones (not measured, not counted below)", settings.WarmupBlocks)
            .Add("complete", "every peer committed every block", complete)
            .Add("in_order", "every peer committed in order", inOrder)
            .Add("commit_p50_ms", "commit latency p50 (cut to commit)", Percentile(latencies, 0.50), "N1", " ms")
            .Add("commit_p99_ms", "commit latency p99", Percentile(latencies, 0.99), "N1", " ms")
            .Add("commit_max_ms", "commit latency max", latencies.Length == 0 ? double.NaN : latencies[^1], "N1", " ms")
            .Add("orderer_deliveries_per_block", "orderer deliveries per block (mean)", perBlock.Length == 0 ? double.NaN : perBlock.Average(), "N2");
        foreach (var (key, label, _) in CounterRows)
        {
            report.Add(key, label, Since(key));
        }

        report.Add("stream_cpu_s", "CPU of the whole process from the first cut to the last commit", _streamCpuSeconds, "N1", " s")
            .Add("stream_wall_s", "wall time from the first cut to the last commit", _streamSeconds, "N1", " s")
            .Add("stream_cores", "cores used while streaming (CPU / wall)", _streamCpuSeconds / _streamSeconds, "N2")
            .Add("stream_gc_pause_ms", "garbage collection pauses while streaming (all generations)", _gcPauseMs, "N0", " ms")
            .Add("stream_gen2_collections", "full (gen2) collections while streaming", _gcCount)
            .Add("idle_cores", "cores used by the same network before the first cut (2 s: membership, StateInfo, leadership)", _idleCores, "N2")
            .Add("final_height", "final height (blocks cut + genesis)", (long)final)
            .Add("all_at_final_height", "every peer at the final height", allAtFinal);
        if (_restarted is { } r)
        {
            var rs = r.Node.GetBlockStatistics(Channel);
            var expectedCommits = Enumerable.Range(1, settings.Blocks).Select(i => (ulong)i);
            bool caughtUp = r.Node.GetLedgerHeight(Channel) == final && r.Commits.SequenceEqual(expectedCommits);
            report.Add("restarted_peer", "restarted peer (killed at 1/4 of the blocks, back with an empty ledger at 1/2)", r.Name)
                .Add("restart_caught_up", $"{r.Name} caught up: every block from #1, in order, at the final height", caughtUp)
                .Add("restart_behind_at_rejoin", $"blocks {r.Name} lacked when it rejoined", (long)_restartHeight - 1)
                .Add("restart_catch_up_ms", $"{r.Name} caught up with the height at its rejoin in", _catchUpMs, "N0", " ms")
                .Add("restart_state_blocks", $"blocks {r.Name} got by state transfer", rs.StateBlocksReceived)
                .Add("restart_state_requests", $"state requests {r.Name} sent (gaps / catch-up)", $"{rs.GapRequests} / {rs.CatchUpRequests}");
        }
        if (perBlock.Length > 0)
        {
            report.Note("orderer deliveries per block (min / max)", $"{perBlock.Min()} / {perBlock.Max()}");
        }

        var slowest = _slowestCommit.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"#{kv.Key} {kv.Value:N0} ms").ToArray();
        if (slowest.Length > 0)
        {
            report.Note("slowest blocks (their last commit)", string.Join(", ", slowest));
        }

        report.Note("commits measured", latencies.Length.ToString("N0", CultureInfo.InvariantCulture)
            + (_restarted is { } restarted ? $" (not {restarted.Name}'s after its restart: catch-up, not cut-to-commit)" : string.Empty));
        if (_peers.Count > 0)
        {
            long pretouch = _peers[0].Options.Ledger.PretouchBytes;
            report.Note("ledger memory each peer pre-touched when it joined (--no-pretouch: none)",
                pretouch == 0 ? "none" : $"{pretouch / (1024.0 * 1024):F1} MiB (rounded up to 2 MiB chunks)");
        }

        report.Note("window (maxBlockCountToStore) / reorder buffer / pull interval",
            $"{settings.Window} / {Math.Max(20, 2 * settings.Window)} / {settings.PullInterval.TotalMilliseconds:F0} ms");
        return report;
    }

    /// <summary>One peer's block counters at one moment; the channel's ledger, relay and lazy push are null before it joined.</summary>
    private readonly record struct PeerCounters(Engine.Channels.ChannelBlockStatistics Blocks, LedgerStatistics? Ledger, Engine.Channels.BlockRelay? Relay, Engine.Gossip.LazyRepairStatistics? Lazy);

    /// <summary>The block counters the report shows (JSON key, label, how a peer's is read), counted from the first measured cut.</summary>
    private static readonly (string Key, string Label, Func<PeerCounters, long> Read)[] CounterRows =
    [
        ("pull_repairs", "blocks repaired by pull", c => c.Blocks.PullRepaired),
        ("gap_requests", "state requests for gaps (push missed a block)", c => c.Blocks.GapRequests),
        ("gap_blocks_served", "blocks served from archives (gaps and catch-up)", c => c.Blocks.BlocksServed),
        ("catch_up_requests", "state transfer requests (anti-entropy catch-up)", c => c.Blocks.CatchUpRequests),
        ("lazy_wanted", "blocks asked for after an announcement (lazy block push)", c => c.Lazy?.Wanted ?? 0),
        ("lazy_served", "blocks sent to peers that asked", c => c.Lazy?.Served ?? 0),
        ("lazy_retried", "blocks asked of a second announcer (the first did not answer in time)", c => c.Lazy?.Retried ?? 0),
        ("relay_sent", "relay frames sent (block relay tree)", c => c.Relay?.Sent ?? 0),
        ("relay_send_failures", "relay sends that failed (the next peer of the part was tried)", c => c.Relay?.SendFailures ?? 0),
        ("ledger_too_far_ahead", "blocks a ledger refused as too far ahead of its height (beyond the reorder buffer)", c => c.Ledger?.TooFarAhead ?? 0),
        ("ledger_buffered", "blocks that arrived early and waited in a reorder buffer", c => c.Ledger?.Buffered ?? 0),
        ("ledger_duplicates", "blocks a ledger already held", c => c.Ledger?.Duplicates ?? 0),
        ("relay_unreached", "peers a relay could not reach (left to gap requests and pull)", c => c.Relay?.Unreached ?? 0),
    ];

    /// <summary>The cumulative block counters of <paramref name="peers"/>' running nodes, summed (read at the first measured cut and at the end), keyed as <see cref="CounterRows"/>.</summary>
    private static Dictionary<string, long> Counters(IReadOnlyCollection<PeerSlot> peers)
    {
        var snapshots = peers.Select(p =>
        {
            var channels = p.Node.ChannelManager;
            return new PeerCounters(p.Node.GetBlockStatistics(Channel), channels?.Find(Channel)?.Store.GetStatistics(), channels?.Relay, channels?.Lazy.GetStatistics());
        }).ToArray();
        return CounterRows.ToDictionary(row => row.Key, row => snapshots.Sum(row.Read));
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private sealed class PeerSlot(string name, string org, int index, GossipOptions options)
    {
        public string Name { get; } = name;

        public string Org { get; } = org;

        public int Index { get; } = index;

        public GossipOptions Options { get; } = options;

        public int Restarts { get; set; }

        public GossipNode Node { get; set; } = null!;

        public ConcurrentQueue<ulong> Commits { get; set; } = new();
    }
}
