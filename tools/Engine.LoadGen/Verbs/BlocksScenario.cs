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
internal sealed record BlocksRunSettings(int Orgs, int PeersPerOrg, int Blocks, int BlockSize, double Rate, double Loss, bool Memory, int Seed, int Window, TimeSpan PullInterval);

/// <summary>
/// Sustained blocks: an orderer and O orgs x P peers in one channel (anchors: each org's peer0, in the genesis block);
/// once every org has one leader and every peer sees its org, the orderer cuts B blocks of BYTES at RATE per second.
/// Reports, from cut to each peer's commit, the latency p50/p99/max; whether every peer committed every block, in order;
/// how many peers the orderer delivered each block to (O when one leader per org holds the only stream); and how many
/// blocks pull repaired.
/// </summary>
internal sealed class BlocksScenario(BlocksRunSettings settings)
{
    public const string Channel = "blocks";

    private readonly ConcurrentDictionary<ulong, int> _deliveries = new();
    private readonly ConcurrentBag<double> _latencies = [];
    private List<(string Name, string Org, GossipNode Node, ConcurrentQueue<ulong> Commits)> _peers = [];
    private string _phase = "starting";
    private long _committed;

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
            endpoints[i] = settings.Memory ? PeerEndpoint.Loopback(checked((ushort)(MemoryNetwork.AutoPort + i))) : PeerEndpoint.Loopback(FreePort());
        }

        var ordererEndpoint = settings.Memory ? PeerEndpoint.Loopback(7050) : PeerEndpoint.Loopback(FreePort());
        ITransport ordererTransport = settings.Memory
            ? network.Memory!.CreateTransport(ordererEndpoint)
            : SocketTransport.Create(new TransportOptions { ListenEndpoint = ordererEndpoint, UdpReceiveThread = false });
        await using var orderer = new Orderer(ordererTransport, new OrdererOptions { MaxRetainedBlocks = Math.Max(1000, settings.Blocks + 16) }, time)
        {
            BlockDelivered = (_, seq, _) => _deliveries.AddOrUpdate(seq, 1, static (_, n) => n + 1),
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
                        options.AliveTimeInterval = TimeSpan.FromSeconds(1);
                        options.AliveExpirationTimeout = TimeSpan.FromSeconds(10);
                        options.ReconnectInterval = TimeSpan.FromSeconds(5);
                        options.BootstrapRetryInterval = TimeSpan.FromMilliseconds(500);
                        options.PullInterval = settings.PullInterval;
                        options.DigestWaitTime = settings.PullInterval / 4;
                        options.RequestWaitTime = settings.PullInterval * 3 / 8;
                        options.ResponseWaitTime = settings.PullInterval / 2;
                        options.PublishStateInfoInterval = TimeSpan.FromSeconds(1);
                        options.RequestStateInfoInterval = TimeSpan.FromSeconds(1);
                        options.Ledger.MaxBlockCountToStore = settings.Window;
                        options.Ledger.BlockBufferSize = Math.Max(20, 2 * settings.Window);
                        if (i > 0)
                        {
                            options.BootstrapPeers.Add(endpoints[o * settings.PeersPerOrg]);
                        }

                        var transport = network.CreateTransport(options, index, endpoints[index]);
                        options.ExternalEndpoint = endpoints[index];
                        var node = new GossipNode(options, transport, new GossipNodeContext { Time = time, Seed = settings.Seed * 10_000 + index });
                        var commits = new ConcurrentQueue<ulong>();
                        node.BlockCommitted += e =>
                        {
                            if (e.Number == 0 || e.Number > (ulong)settings.Blocks)
                            {
                                return;
                            }

                            commits.Enqueue(e.Number);
                            Interlocked.Increment(ref _committed);
                            if (e.CutAt is { } cut)
                            {
                                _latencies.Add((e.CommittedAt - cut).TotalMilliseconds);
                            }
                        };
                        await node.StartAsync(cancellationToken);
                        _peers.Add(($"peer{i}.org{o + 1}", orgs[o], node, commits));
                    }
                }

                _phase = "joining the channel";
                foreach (var peer in _peers)
                {
                    peer.Node.JoinChannel(genesis, ordererEndpoint);
                }

                _phase = "electing leaders, spreading StateInfo";
                bool ready = await network.WaitUntilAsync(
                    () => orgs.All(org => _peers.Count(p => p.Org == org && p.Node.IsLeader(Channel)) == 1)
                        && _peers.All(p => p.Node.GetChannelView(Channel).Members.Count(m => m.Org == p.Org) == settings.PeersPerOrg - 1),
                    TimeSpan.FromSeconds(60), cancellationToken);
                if (!ready)
                {
                    console.MarkupLine("[yellow]Leaders or org views did not settle within 60 s; streaming anyway.[/]");
                }

                // Let the leaders' delivery streams open before the first cut.
                await network.WaitUntilAsync(() => orderer.Streams(Channel).Count >= settings.Orgs, TimeSpan.FromSeconds(10), cancellationToken);
                _phase = "streaming blocks";
                orderer.StartCutting(Channel, settings.Rate, Math.Max(settings.BlockSize, 8));
                await network.WaitUntilAsync(() => orderer.Height(Channel) > (ulong)settings.Blocks, TimeSpan.FromSeconds((settings.Blocks / settings.Rate) + 60), cancellationToken);
                orderer.StopCutting(Channel);
                _phase = "waiting for the last commits";
                long expected = (long)settings.Blocks * total;
                await network.WaitUntilAsync(() => Interlocked.Read(ref _committed) >= expected, TimeSpan.FromSeconds(30), cancellationToken);
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

    private ProgressSnapshot Snapshot()
    {
        long expected = (long)settings.Blocks * Math.Max(1, _peers.Count);
        return new ProgressSnapshot(_phase, [
            ("peers", _peers.Count.ToString(CultureInfo.InvariantCulture)),
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
        var perBlock = expected.Select(b => _deliveries.GetValueOrDefault(b)).ToArray();
        var stats = _peers.Select(p => p.Node.GetBlockStatistics(Channel)).ToArray();
        long repairs = stats.Sum(s => s.PullRepaired);
        var report = new RunReport($"Engine blocks: {settings.Orgs} orgs x {settings.PeersPerOrg} peers, {settings.Blocks} blocks of {settings.BlockSize:N0} B at {settings.Rate}/s, "
            + (settings.Memory ? $"memory, {settings.Loss:P0} loss" : "udp/tcp loopback"))
            .Add("orgs", "orgs", settings.Orgs)
            .Add("peers_per_org", "peers per org", settings.PeersPerOrg)
            .Add("blocks", "blocks", settings.Blocks)
            .Add("complete", "every peer committed every block", complete)
            .Add("in_order", "every peer committed in order", inOrder)
            .Add("commit_p50_ms", "commit latency p50 (cut to commit)", Percentile(latencies, 0.50), "N1", " ms")
            .Add("commit_p99_ms", "commit latency p99", Percentile(latencies, 0.99), "N1", " ms")
            .Add("commit_max_ms", "commit latency max", latencies.Length == 0 ? double.NaN : latencies[^1], "N1", " ms")
            .Add("orderer_deliveries_per_block", "orderer deliveries per block (mean)", perBlock.Length == 0 ? double.NaN : perBlock.Average(), "N2")
            .Add("pull_repairs", "blocks repaired by pull", repairs)
            .Add("gap_requests", "state requests for gaps (push missed a block)", stats.Sum(s => s.GapRequests))
            .Add("gap_blocks_served", "blocks served from windows to fill gaps", stats.Sum(s => s.BlocksServed));
        if (perBlock.Length > 0)
        {
            report.Note("orderer deliveries per block (min / max)", $"{perBlock.Min()} / {perBlock.Max()}");
        }

        report.Note("commits measured", latencies.Length.ToString("N0", CultureInfo.InvariantCulture));
        report.Note("window (maxBlockCountToStore) / reorder buffer / pull interval",
            $"{settings.Window} / {Math.Max(20, 2 * settings.Window)} / {settings.PullInterval.TotalMilliseconds:F0} ms");
        return report;
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>A loopback port free for both TCP and UDP right now, and not handed out before by this process.</summary>
    internal static ushort FreePort() => LoopbackPorts.Free();
}
