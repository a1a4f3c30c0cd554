using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.LoadGen.Output;
using Engine.Node;
using Engine.Transport.Memory;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// N gossip peers in one process (loopback sockets, or the in-memory network in virtual time with optional datagram
/// loss) find each other, then M messages are published from random peers at a fixed rate. Every delivery to a peer's
/// application is timed from its publication; the run ends when every message is at every peer (or the time is up).
/// Measures: the time until everything is everywhere, delivery latency p50/p99/max, the duplicate ratio (copies received
/// by push and pull ÷ copies needed), and bytes sent per peer while the messages spread.
/// </summary>
internal sealed class GossipScenario
{
    private readonly GossipRunSettings _settings;
    private readonly List<GossipNode> _nodes = [];
    private readonly double[] _publishedAt;
    private readonly int[] _publisher;
    private readonly int[] _copies;
    private readonly float[] _latency;
    private volatile string _phase = "starting";
    private PeerNetwork? _network;
    private long _delivered;
    private long _deliveredTwice;
    private long _corrupt;
    private int _published;
    private double _elapsedSeconds;

    public GossipScenario(GossipRunSettings settings)
    {
        _settings = settings;
        _publishedAt = new double[settings.Messages];
        _publisher = new int[settings.Messages];
        long pairs = (long)settings.Messages * settings.Peers;
        if (pairs > 200_000_000)
        {
            throw new ArgumentException($"{settings.Messages} messages x {settings.Peers} peers is more deliveries than one run tracks (200 M).");
        }

        _copies = new int[pairs];
        _latency = new float[pairs];
    }

    private long Needed => (long)_settings.Messages * (_settings.Peers - 1);

    public async Task<RunReport> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var s = _settings;
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]gossip[/]: {s.Peers} peers on the {(s.Memory ? $"in-memory network (virtual time, {s.Loss:P0} datagram loss)" : "loopback UDP/TCP sockets")}, {s.Messages:N0} messages of {s.Size:N0} B at {s.Rate:N0}/s, mode {s.Mode}, fanout {s.Fanout}, lazy push to {s.Lazy} (grace {s.LazyGraceMs} ms), pull every {s.PullInterval.TotalMilliseconds:N0} ms (seed {s.Seed})"));
        var policy = new NetworkPolicy { Seed = s.Seed, DropProbability = s.Loss };
        using var network = PeerNetwork.Create(s.Memory, s.Peers, policy, TimeSpan.FromMilliseconds(10));
        _network = network;
        var result = new Results();
        await ProgressDisplay.RunAsync(console, Snapshot, () => Task.Run(() => DriveAsync(network, result, cancellationToken), CancellationToken.None));
        return Report(result, network);
    }

    /// <summary>The latency CDF: (latency ms, fraction of the deliveries made) at most 500 points.</summary>
    public List<(double X, double Y)> LatencyCdf()
    {
        var sorted = Latencies();
        var points = new List<(double X, double Y)>();
        if (sorted.Length == 0)
        {
            return points;
        }

        int step = Math.Max(1, sorted.Length / 500);
        for (int i = 0; i < sorted.Length; i += step)
        {
            points.Add((sorted[i], (i + 1) / (double)Needed));
        }

        points.Add((sorted[^1], sorted.Length / (double)Needed));
        return points;
    }

    private ProgressSnapshot Snapshot() => new(_phase,
    [
        ("peers up", $"{_nodes.Count:N0}/{_settings.Peers:N0}"),
        ("published", $"{Volatile.Read(ref _published):N0}/{_settings.Messages:N0}"),
        ("delivered", $"{Interlocked.Read(ref _delivered) / (double)Needed:P1}"),
        ("network time", $"{Volatile.Read(ref _elapsedSeconds):F1} s"),
    ]);

    private async Task DriveAsync(PeerNetwork network, Results result, CancellationToken cancellationToken)
    {
        var s = _settings;
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        try
        {
            var random = new Random(s.Seed);
            for (int i = 0; i < s.Peers; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await StartPeerAsync(network, i, i == 0 ? -1 : random.Next(i), cancellationToken);
            }

            _phase = "peers finding each other";
            result.Converged = await network.WaitUntilAsync(() => Tick(network) && _nodes.All(n => n.AliveCount == s.Peers - 1), s.ConvergenceLimit, cancellationToken);
            if (!result.Converged)
            {
                _phase = "membership did not converge";
                return;
            }

            _phase = "publishing";
            var before = Totals();
            double start = network.ElapsedMs;
            result.StartMs = start;
            var data = new byte[s.Size];
            var publishers = new Random(s.Seed + 1);
            double gapMs = 1000.0 / s.Rate;
            for (int m = 0; m < s.Messages; m++)
            {
                double due = start + (m * gapMs);
                if (network.ElapsedMs < due)
                {
                    await network.WaitUntilAsync(() => network.ElapsedMs >= due, TimeSpan.FromMilliseconds(due - network.ElapsedMs), cancellationToken);
                }

                int p = publishers.Next(s.Peers);
                _publisher[m] = p;
                BinaryPrimitives.WriteInt32LittleEndian(data, m);
                data.AsSpan(4).Fill((byte)m);
                Volatile.Write(ref _publishedAt[m], network.ElapsedMs);
                _nodes[p].Publish(data);
                Volatile.Write(ref _published, m + 1);
                Tick(network);
            }

            _phase = "spreading";
            result.Complete = await network.WaitUntilAsync(() => Tick(network) && Interlocked.Read(ref _delivered) >= Needed, s.CompletionLimit, cancellationToken);
            result.EndMs = network.ElapsedMs;
            var after = Totals();
            result.BytesPerPeer = (after.Bytes - before.Bytes) / (double)s.Peers;
            result.CopiesReceived = after.Copies - before.Copies;
            result.Pulled = after.Pulled - before.Pulled;
            result.PullDropped = after.PullDropped - before.PullDropped;
            result.Wanted = after.Wanted - before.Wanted;
            _phase = result.Complete ? "done" : "incomplete: the time limit passed";
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _phase = "stopped (timeout)";
            result.TimedOut = true;
        }
        finally
        {
            result.CpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
            result.PeakRssMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
            foreach (var node in _nodes)
            {
                await node.StopAsync();
            }
        }
    }

    private bool Tick(PeerNetwork network)
    {
        Volatile.Write(ref _elapsedSeconds, network.ElapsedMs / 1000);
        return true;
    }

    private async Task StartPeerAsync(PeerNetwork network, int index, int bootstrap, CancellationToken cancellationToken)
    {
        var s = _settings;
        var options = new GossipOptions
        {
            OrgId = "Org1",
            PkiId = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"peer{index}"))),
            AliveTimeInterval = s.AliveInterval,
            AliveExpirationTimeout = s.AliveInterval * 5,
            ReconnectInterval = s.AliveInterval * 5,
            PropagatePeerNum = s.Fanout,
            LazyPushPeerNum = s.Lazy,
            LazyPushGrace = TimeSpan.FromMilliseconds(s.LazyGraceMs),
            PullInterval = s.PullInterval,
            DigestWaitTime = s.PullInterval / 4,
            RequestWaitTime = s.PullInterval * 3 / 8,
            ResponseWaitTime = s.PullInterval / 2,
            Dissemination = s.Mode switch
            {
                "push" => DisseminationMode.PushOnly,
                "pull" => DisseminationMode.PullOnly,
                _ => DisseminationMode.PushAndPull,
            },
        };
        if (bootstrap >= 0)
        {
            options.BootstrapPeers.Add(_nodes[bootstrap].Endpoint);
        }

        var transport = network.CreateTransport(options, index, default);
        var node = new GossipNode(options, transport, new GossipNodeContext { Time = network.Time, Seed = s.Seed + index });
        node.MessageReceived += (in ReceivedMessage message) => OnReceived(index, message.Data);
        await node.StartAsync(cancellationToken);
        _nodes.Add(node);
    }

    private void OnReceived(int peer, ReadOnlySpan<byte> data)
    {
        int m = data.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(data) : -1;
        if ((uint)m >= (uint)_settings.Messages || data.Length != _settings.Size)
        {
            Interlocked.Increment(ref _corrupt);
            return;
        }

        long slot = ((long)m * _settings.Peers) + peer;
        if (Interlocked.Increment(ref _copies[slot]) != 1)
        {
            Interlocked.Increment(ref _deliveredTwice);
            return;
        }

        _latency[slot] = (float)(_network!.ElapsedMs - Volatile.Read(ref _publishedAt[m]));
        Interlocked.Increment(ref _delivered);
    }

    private float[] Latencies()
    {
        var list = new List<float>((int)Math.Min(Needed, int.MaxValue));
        for (int m = 0; m < _settings.Messages; m++)
        {
            for (int p = 0; p < _settings.Peers; p++)
            {
                long slot = ((long)m * _settings.Peers) + p;
                if (p != _publisher[m] && Volatile.Read(ref _copies[slot]) > 0)
                {
                    list.Add(_latency[slot]);
                }
            }
        }

        var array = list.ToArray();
        Array.Sort(array);
        return array;
    }

    private (long Bytes, long Copies, long Pulled, long PullDropped, long Wanted) Totals()
    {
        long bytes = 0, copies = 0, pulled = 0, dropped = 0, wanted = 0;
        foreach (var node in _nodes)
        {
            var stats = node.GetStatistics();
            bytes += stats.BytesSent;
            copies += stats.MessagesReceived;
            pulled += stats.MessagesPulled;
            dropped += stats.PullDropped;
            wanted += stats.LazyWanted;
        }

        return (bytes, copies, pulled, dropped, wanted);
    }

    private RunReport Report(Results r, PeerNetwork network)
    {
        var s = _settings;
        var latencies = Latencies();
        double Percentile(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(q * latencies.Length) - 1)];
        double allDelivered = r.Complete ? LastDelivery() - r.StartMs : double.NaN;
        long needed = Needed;
        var report = new RunReport($"gossip: {s.Peers:N0} peers, {s.Messages:N0} messages of {s.Size:N0} B, {s.Mode}, {(s.Memory ? "memory" : "udp")} network")
            .Add("peers", "peers", (long)s.Peers)
            .Add("messages", "messages", (long)s.Messages)
            .Add("size", "bytes per message", (long)s.Size, " B")
            .Add("mode", "mode", s.Mode)
            .Add("network", "network", s.Memory ? "memory" : "udp")
            .Add("loss", "datagram loss injected", s.Loss, "P0")
            .Add("seed", "seed", (long)s.Seed)
            .Add("fanout", "push fanout (propagatePeerNum)", (long)s.Fanout)
            .Add("rate", "messages published per second", (long)s.Rate)
            .Add("complete", "every message at every peer", r.Complete)
            .Add("all_delivered_ms", "time from the first publication until everything is everywhere", allDelivered, "N0", " ms")
            .Add("pull_interval_ms", "pull interval", s.PullInterval.TotalMilliseconds, "N0", " ms")
            .Add("all_delivered_pull_intervals", "... in pull intervals", allDelivered / s.PullInterval.TotalMilliseconds, "N2")
            .Add("publish_window_ms", "time spent publishing", (s.Messages - 1) * 1000.0 / s.Rate, "N0", " ms")
            .Add("latency_p50_ms", "delivery latency p50", Percentile(0.50), "N1", " ms")
            .Add("latency_p90_ms", "delivery latency p90", Percentile(0.90), "N1", " ms")
            .Add("latency_p95_ms", "delivery latency p95", Percentile(0.95), "N1", " ms")
            .Add("latency_p99_ms", "delivery latency p99", Percentile(0.99), "N1", " ms")
            .Add("latency_max_ms", "delivery latency max", latencies.Length == 0 ? double.NaN : latencies[^1], "N1", " ms")
            .Add("delivered", "deliveries made (of needed)", Interlocked.Read(ref _delivered))
            .Add("needed", "deliveries needed: messages x (peers - 1)", needed)
            .Add("delivered_twice", "messages handed to an application twice", Interlocked.Read(ref _deliveredTwice))
            .Add("duplicate_ratio", "copies received (push and pull) / copies needed", r.CopiesReceived / (double)needed, "N2")
            .Add("pulled_fraction", "deliveries that came by pull", r.Pulled / (double)Math.Max(1, Interlocked.Read(ref _delivered)), "P1")
            .Add("lazy_peers", "lazy push: peers each new message's digest is announced to", (long)s.Lazy)
            .Add("lazy_wanted_fraction", "deliveries asked for after an announcement (push missed them)", r.Wanted / (double)Math.Max(1, Interlocked.Read(ref _delivered)), "P1")
            .Add("pull_dropped", "pull messages dropped (late or unexpected)", r.PullDropped)
            .Add("bytes_per_peer", "bytes sent per peer while the messages spread (all traffic)", r.BytesPerPeer, "N0", " B")
            .Add("cpu_s", "CPU time of the run", r.CpuSeconds, "N2", " s")
            .Add("peak_rss_mb", "peak resident memory", r.PeakRssMb, "N0", " MB")
            .Add("network_time_s", "network time elapsed", network.ElapsedMs / 1000, "N1", " s");
        if (!r.Converged)
        {
            report.Note("note", "the peers did not find each other within the limit; nothing was published");
        }

        if (Interlocked.Read(ref _corrupt) > 0)
        {
            report.Note("corrupt", $"{Interlocked.Read(ref _corrupt):N0} deliveries carried bytes that were not published");
        }

        if (r.TimedOut)
        {
            report.Note("note", "stopped by --timeout before the run completed");
        }

        return report;
    }

    private double LastDelivery()
    {
        double last = 0;
        for (int m = 0; m < _settings.Messages; m++)
        {
            for (int p = 0; p < _settings.Peers; p++)
            {
                long slot = ((long)m * _settings.Peers) + p;
                if (p != _publisher[m] && _copies[slot] > 0)
                {
                    last = Math.Max(last, _publishedAt[m] + _latency[slot]);
                }
            }
        }

        return last;
    }

    private sealed class Results
    {
        public bool Converged;
        public bool Complete;
        public bool TimedOut;
        public double StartMs;
        public double EndMs;
        public double BytesPerPeer;
        public long CopiesReceived;
        public long Pulled;
        public long PullDropped;
        public long Wanted;
        public double CpuSeconds;
        public double PeakRssMb;
    }
}

/// <summary>What one gossip run does.</summary>
internal sealed record GossipRunSettings(int Peers, int Messages, int Size, string Mode, double Loss, bool Memory, int Rate, TimeSpan PullInterval,
    TimeSpan AliveInterval, int Fanout, int Seed, int Lazy = 3, int LazyGraceMs = 10)
{
    /// <summary>Network time allowed for the peers to find each other.</summary>
    public TimeSpan ConvergenceLimit => AliveInterval * Math.Max(60, 4 * Math.Log2(Math.Max(2, Peers)));

    /// <summary>Network time allowed after the last publication: enough pull rounds to reach everyone many times over.</summary>
    public TimeSpan CompletionLimit => TimeSpan.FromSeconds(10) + (PullInterval * (Math.Ceiling(Math.Log(Peers, 3)) + 10));
}
