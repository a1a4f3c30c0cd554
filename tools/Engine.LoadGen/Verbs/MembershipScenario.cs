using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.LoadGen.Output;
using Engine.Membership;
using Engine.Node;
using Engine.Transport;
using Engine.Transport.Memory;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// N gossip peers in one process, each bootstrapped to one random earlier peer, on real UDP/TCP sockets on loopback or on
/// the in-memory network in virtual time. Measures the time until every peer sees all others alive, the steady-state cost
/// per peer, then stops a fraction of the peers and measures the time until every survivor sees them dead (and counts any
/// survivor wrongly declared dead on the way).
/// </summary>
internal sealed class MembershipScenario
{
    private readonly MembershipRunSettings _settings;
    private readonly List<Peer> _peers = [];
    private readonly HashSet<string> _killedIds = new(StringComparer.Ordinal);
    private volatile string _phase = "starting";
    private long _falseDeaths;
    private int _started;
    private double _convergedFraction;
    private double _elapsedSeconds;

    public MembershipScenario(MembershipRunSettings settings) => _settings = settings;

    /// <summary>The fraction of peers whose view is complete, over the network's time (seconds).</summary>
    public List<(double X, double Y)> ConvergenceCurve { get; } = [];

    /// <summary>The fraction of survivors that see every stopped peer dead, over the network's time (seconds).</summary>
    public List<(double X, double Y)> DetectionCurve { get; } = [];

    public async Task<RunReport> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var s = _settings;
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]membership[/]: {s.Peers} peers on the {(s.Memory ? "in-memory network (virtual time)" : "loopback UDP/TCP sockets")}, alive every {s.AliveInterval.TotalMilliseconds:N0} ms, expiry after {s.AliveInterval.TotalMilliseconds * 5:N0} ms, then {s.KillFraction:P0} stopped (seed {s.Seed})"));
        IClock clock = s.Memory ? new VirtualClock() : new WallClock();
        var result = new Results();
        await ProgressDisplay.RunAsync(console, Snapshot, () => Task.Run(() => DriveAsync(clock, result, cancellationToken), CancellationToken.None));
        return Report(result, clock);
    }

    private ProgressSnapshot Snapshot() => new(_phase,
    [
        ("peers up", $"{Volatile.Read(ref _started):N0}/{_settings.Peers:N0}"),
        ("peers done with this phase", $"{Volatile.Read(ref _convergedFraction):P1}"),
        ("network time", $"{Volatile.Read(ref _elapsedSeconds):F1} s"),
        ("false deaths", $"{Interlocked.Read(ref _falseDeaths):N0}"),
    ]);

    private async Task DriveAsync(IClock clock, Results result, CancellationToken cancellationToken)
    {
        var s = _settings;
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        try
        {
            await StartPeersAsync(clock, cancellationToken);
            _phase = "converging";
            int everyone = _peers.Count;
            result.Converged = await clock.WaitUntilAsync(
                () => Sample(ConvergenceCurve, clock, p => p.Node.AliveCount >= everyone - 1, _peers),
                s.ConvergenceLimit, cancellationToken);
            result.ConvergenceMs = clock.ElapsedMs;

            // Steady state: two alive intervals with a complete view, counted from the peers' own statistics.
            _phase = "steady state";
            var before = Totals();
            double t0 = clock.ElapsedMs;
            await clock.WaitUntilAsync(() => false, s.AliveInterval * 2, cancellationToken);
            var after = Totals();
            double seconds = (clock.ElapsedMs - t0) / 1000;
            result.DatagramsPerPeerPerSecond = (after.Datagrams - before.Datagrams) / (double)everyone / seconds;
            result.BytesPerPeerPerSecond = (after.Bytes - before.Bytes) / (double)everyone / seconds;

            int kill = (int)Math.Round(everyone * s.KillFraction);
            if (kill > 0 && result.Converged)
            {
                _phase = $"stopping {kill} peers";
                var random = new Random(s.Seed);
                var victims = _peers.OrderBy(_ => random.Next()).Take(kill).ToList();
                lock (_killedIds)
                {
                    foreach (var v in victims)
                    {
                        _killedIds.Add(v.Id);
                    }
                }

                foreach (var v in victims)
                {
                    await v.Node.StopAsync();
                    v.Stopped = true;
                }

                var survivors = _peers.Where(p => !p.Stopped).ToList();
                _phase = "detecting";
                double killedAt = clock.ElapsedMs;
                result.Killed = kill;
                result.Detected = await clock.WaitUntilAsync(
                    () => Sample(DetectionCurve, clock, p => p.Node.DeadCount >= kill && p.Node.AliveCount >= survivors.Count - 1, survivors),
                    s.DetectionLimit, cancellationToken);
                result.DetectionMs = clock.ElapsedMs - killedAt;
            }

            _phase = "done";
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
            foreach (var p in _peers.Where(p => !p.Stopped))
            {
                await p.Node.StopAsync();
            }

            clock.Dispose();
        }
    }

    private async Task StartPeersAsync(IClock clock, CancellationToken cancellationToken)
    {
        var s = _settings;
        var random = new Random(s.Seed);
        for (int i = 0; i < s.Peers; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string name = string.Create(CultureInfo.InvariantCulture, $"peer{i}");
            var options = new GossipOptions
            {
                OrgId = "Org1",
                PkiId = SHA256.HashData(Encoding.UTF8.GetBytes(name)),
                AliveTimeInterval = s.AliveInterval,
                AliveExpirationTimeout = s.AliveInterval * 5,
                ReconnectInterval = s.AliveInterval * 5,
            };
            options.Transport.MaxInboundConnections = Math.Max(options.Transport.MaxInboundConnections, s.Peers * 2);
            if (i > 0)
            {
                options.BootstrapPeers.Add(_peers[random.Next(i)].Node.Endpoint);
            }

            ITransport transport;
            if (clock is VirtualClock v)
            {
                var endpoint = PeerEndpoint.Loopback(checked((ushort)(MemoryNetwork.AutoPort + i)));
                options.Endpoint = endpoint;
                transport = v.Network.CreateTransport(endpoint, options.Transport);
            }
            else
            {
                // One port pair each, picked by the OS; the node announces the endpoint its transport bound.
                options.Transport.ListenEndpoint = PeerEndpoint.Loopback(0);
                options.Transport.UdpReceiveThread = false;
                options.Endpoint = PeerEndpoint.Loopback(0);
                transport = SocketTransport.Create(options.Transport);
            }

            var node = new GossipNode(options, transport, new GossipNodeContext { Time = clock.Time, Seed = s.Seed + i });
            var peer = new Peer(Convert.ToHexStringLower(options.PkiId), node);
            node.MembershipChanged += e => OnChanged(peer, e);
            await node.StartAsync(cancellationToken);
            _peers.Add(peer);
            Interlocked.Increment(ref _started);
        }
    }

    private void OnChanged(Peer observer, MembershipChangedEvent e)
    {
        if (e.State != MemberState.Dead || observer.Stopped)
        {
            return;
        }

        bool expected;
        lock (_killedIds)
        {
            expected = _killedIds.Contains(e.PkiId);
        }

        if (!expected && Interlocked.Increment(ref _falseDeaths) <= 5)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"false death: {observer.Node.Endpoint} declared {e.Endpoint} ({e.PkiId[..8]}) dead at {Volatile.Read(ref _elapsedSeconds):F1} s ({_phase})"));
        }
    }

    private bool Sample(List<(double X, double Y)> curve, IClock clock, Func<Peer, bool> done, List<Peer> peers)
    {
        int count = 0;
        foreach (var p in peers)
        {
            if (done(p))
            {
                count++;
            }
        }

        double fraction = peers.Count == 0 ? 1 : count / (double)peers.Count;
        double seconds = clock.ElapsedMs / 1000;
        Volatile.Write(ref _convergedFraction, fraction);
        Volatile.Write(ref _elapsedSeconds, seconds);
        if (curve.Count == 0 || curve[^1].Y != fraction || seconds - curve[^1].X >= _settings.AliveInterval.TotalSeconds)
        {
            curve.Add((seconds, fraction));
        }

        return count == peers.Count;
    }

    private (long Datagrams, long Bytes) Totals()
    {
        long datagrams = 0, bytes = 0;
        foreach (var p in _peers)
        {
            var stats = p.Node.GetStatistics();
            datagrams += stats.DatagramsSent;
            bytes += stats.BytesSent;
        }

        return (datagrams, bytes);
    }

    private RunReport Report(Results r, IClock clock)
    {
        var s = _settings;
        var report = new RunReport($"membership: {s.Peers:N0} peers, {(s.Memory ? "memory" : "udp")} network")
            .Add("peers", "peers", (long)s.Peers)
            .Add("network", "network", s.Memory ? "memory" : "udp")
            .Add("seed", "seed", (long)s.Seed)
            .Add("converged", "every peer saw all others alive", r.Converged)
            .Add("convergence_ms", "time to converge", r.Converged ? r.ConvergenceMs : double.NaN, "N0", " ms")
            .Add("convergence_rounds", "time to converge (alive intervals)", r.Converged ? r.ConvergenceMs / s.AliveInterval.TotalMilliseconds : double.NaN, "N2")
            .Add("killed", "peers stopped", (long)r.Killed)
            .Add("detected", "every survivor saw them dead", r.Detected)
            .Add("detection_ms", "time to detect", r.Detected ? r.DetectionMs : double.NaN, "N0", " ms")
            .Add("false_deaths", "live peers wrongly declared dead", Interlocked.Read(ref _falseDeaths))
            .Add("datagrams_per_peer_per_s", "datagrams sent per peer per second (steady)", r.DatagramsPerPeerPerSecond, "N2")
            .Add("bytes_per_peer_per_s", "bytes sent per peer per second (steady)", r.BytesPerPeerPerSecond, "N0", " B")
            .Add("cpu_s", "CPU time of the run", r.CpuSeconds, "N2", " s")
            .Add("peak_rss_mb", "peak resident memory", r.PeakRssMb, "N0", " MB")
            .Add("network_time_s", "network time elapsed", clock.ElapsedMs / 1000, "N1", " s");
        if (r.TimedOut)
        {
            report.Note("note", "stopped by --timeout before the run completed");
        }

        return report;
    }

    private sealed class Peer(string id, GossipNode node)
    {
        public string Id { get; } = id;

        public GossipNode Node { get; } = node;

        public volatile bool Stopped;
    }

    private sealed class Results
    {
        public bool Converged;
        public double ConvergenceMs;
        public double DatagramsPerPeerPerSecond;
        public double BytesPerPeerPerSecond;
        public int Killed;
        public bool Detected;
        public double DetectionMs;
        public double CpuSeconds;
        public double PeakRssMb;
        public bool TimedOut;
    }

    /// <summary>The network's clock: virtual (advanced by the scenario) or the wall clock (polled).</summary>
    private interface IClock : IDisposable
    {
        TimeProvider Time { get; }

        double ElapsedMs { get; }

        /// <summary>Runs the network until <paramref name="condition"/> holds or <paramref name="limit"/> of network time passes.</summary>
        Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken);
    }

    private sealed class VirtualClock : IClock
    {
        private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);
        private readonly VirtualTimeProvider _time = new();
        private readonly long _start;

        public VirtualClock()
        {
            _start = _time.GetTimestamp();
            Network = new MemoryNetwork(timeProvider: _time);
        }

        public MemoryNetwork Network { get; }

        public TimeProvider Time => _time;

        public double ElapsedMs => _time.GetElapsedTime(_start).TotalMilliseconds;

        public Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
        {
            var deadline = _time.GetUtcNow() + limit;
            while (!condition())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_time.GetUtcNow() >= deadline)
                {
                    return Task.FromResult(false);
                }

                _time.Advance(Step);
            }

            return Task.FromResult(true);
        }

        public void Dispose()
        {
        }
    }

    private sealed class WallClock : IClock
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();

        public TimeProvider Time => TimeProvider.System;

        public double ElapsedMs => _watch.Elapsed.TotalMilliseconds;

        public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
        {
            var deadline = _watch.Elapsed + limit;
            while (!condition())
            {
                if (_watch.Elapsed >= deadline)
                {
                    return false;
                }

                await Task.Delay(50, cancellationToken);
            }

            return true;
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>What one membership run does.</summary>
internal sealed record MembershipRunSettings(int Peers, bool Memory, TimeSpan AliveInterval, double KillFraction, int Seed)
{
    /// <summary>Network time allowed for convergence before the run reports "not converged".</summary>
    public TimeSpan ConvergenceLimit => AliveInterval * Math.Max(60, 4 * Math.Log2(Math.Max(2, Peers)));

    /// <summary>Network time allowed for detection: expiry plus generous slack.</summary>
    public TimeSpan DetectionLimit => AliveInterval * 20;
}
