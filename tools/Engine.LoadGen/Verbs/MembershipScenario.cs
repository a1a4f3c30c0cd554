using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Engine.LoadGen.Output;
using Engine.LoadGen.Peers;
using Engine.Membership;
using Engine.Node;
using Engine.Transport;
using Engine.Transport.Memory;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// N gossip peers, each bootstrapped to one random earlier peer: in one process on real UDP/TCP sockets on loopback or on
/// the in-memory network in virtual time, or each as its own Engine.Peer OS process on loopback (--processes). Measures the time until every peer sees all others alive, the steady-state cost
/// per peer, then stops a fraction of the peers and measures the time until every survivor sees them dead (and counts any
/// survivor wrongly declared dead on the way), then restarts them and measures the time until everyone sees them alive.
/// </summary>
internal sealed class MembershipScenario
{
    private readonly MembershipRunSettings _settings;
    private readonly List<Peer> _peers = [];
    private readonly HashSet<int> _killed = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _indexById = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<PeerEndpoint, int> _indexByEndpoint = new();
    private readonly Dictionary<int, Engine.Security.PeerCredential> _credentials = [];
    private readonly List<Engine.Security.VerifierCounters> _verifiers = [];
    private Engine.Security.OrgCertificateAuthority? _ca;
    private Engine.Security.TrustStore? _trust;
    private readonly List<Engine.Discovery.SwimHeartbeatStrategy> _swims = [];
    private readonly List<(long Answered, long Agreed, long EntriesSent, long EntriesLearned)?> _retiredSync = [];
    private SwimTotals _retiredSwim;
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

    /// <summary>The fraction of peers that see every restarted peer alive again, over the network's time (seconds).</summary>
    public List<(double X, double Y)> RecoveryCurve { get; } = [];

    public async Task<RunReport> RunAsync(IAnsiConsole console, CancellationToken cancellationToken)
    {
        var s = _settings;
        string where = !s.Memory ? s.Processes ? "loopback UDP/TCP sockets, one Engine.Peer process each" : "loopback UDP/TCP sockets"
            : s.Latency > TimeSpan.Zero
                ? string.Create(CultureInfo.InvariantCulture, $"in-memory network (virtual time, {s.Latency.TotalMilliseconds:0.###} ms delay, parallel windows on {s.Threads} threads)")
                : "in-memory network (virtual time, no delay, one thread)";
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[bold]membership[/] ({(s.Swim ? "swim" : "fabric")} heartbeats): {s.Peers} peers on the {where}, alive every {s.AliveInterval.TotalMilliseconds:N0} ms, expiry after {s.AliveInterval.TotalMilliseconds * 5:N0} ms, then {s.KillFraction:P0} stopped (seed {s.Seed})"));
        console.MarkupLine(s.Signing
            ? "signing: [bold]ON[/] (each peer has an Org1 certificate; alive messages signed, every received one verified)"
            : "signing: [bold]OFF[/] (pure transport/membership: nothing is signed or verified; --signing turns it on)");
        var clock = PeerNetwork.Create(s.Memory, s.Peers, new NetworkPolicy { Seed = s.Seed, Delay = s.Latency }, threads: s.Threads);
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

    private async Task DriveAsync(PeerNetwork clock, Results result, CancellationToken cancellationToken)
    {
        var s = _settings;
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var gcPauseStart = GC.GetTotalPauseDuration();
        int gen2Start = GC.CollectionCount(2);
        long allocatedStart = GC.GetTotalAllocatedBytes();
        var wall = Stopwatch.StartNew();
        try
        {
            await StartPeersAsync(clock, cancellationToken);
            _phase = "converging";
            int everyone = _peers.Count;
            result.Converged = await clock.WaitUntilAsync(
                () => Sample(ConvergenceCurve, clock, p => p.Node.AliveCount >= everyone - 1, _peers),
                s.ConvergenceLimit, cancellationToken);
            result.ConvergenceMs = clock.ElapsedMs;
            if (clock.IsMemory && result.Converged)
            {
                // What the converged network holds (every table full, nothing in flight that a collection frees): in
                // virtual time a full collection here costs the protocol nothing. Not on sockets, where its pause would.
                result.RetainedBytes = GC.GetTotalMemory(forceFullCollection: true);
            }

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
                lock (_killed)
                {
                    foreach (var v in victims)
                    {
                        _killed.Add(v.Index);
                    }
                }

                foreach (var v in victims)
                {
                    await v.Node.CrashAsync();
                    v.Stopped = true;
                    Retire(v);
                }

                var survivors = _peers.Where(p => !p.Stopped).ToList();
                _phase = "detecting";
                double killedAt = clock.ElapsedMs;
                result.Killed = kill;
                // Detected: every survivor holds the stopped peers dead and no survivor dead (a suspected survivor is still a
                // member: Swim probes it and it refutes). Settled: besides, no survivor holds another one suspect.
                result.Detected = await clock.WaitUntilAsync(
                    () => Sample(DetectionCurve, clock, p => p.Node.DeadCount >= kill && p.Node.AliveCount + p.Node.SuspectCount >= survivors.Count - 1, survivors),
                    s.DetectionLimit, cancellationToken);
                result.DetectionMs = clock.ElapsedMs - killedAt;
                if (result.Detected)
                {
                    var left = s.DetectionLimit - TimeSpan.FromMilliseconds(result.DetectionMs);
                    result.DetectionSettled = await clock.WaitUntilAsync(
                        () => survivors.All(p => p.Node.DeadCount >= kill && p.Node.AliveCount >= survivors.Count - 1),
                        left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
                    result.DetectionSettledMs = clock.ElapsedMs - killedAt;
                }

                // Restart the stopped peers (same endpoint, new incarnation, bootstrapped to a survivor): time until every
                // peer sees everyone alive again.
                _phase = $"restarting {kill} peers";
                lock (_killed)
                {
                    _killed.Clear();
                }

                double restartedAt = clock.ElapsedMs;
                foreach (var victim in victims)
                {
                    var endpoint = victim.Node.Endpoint;
                    await StartNodeAsync(victim, clock, survivors[random.Next(survivors.Count)].Node.Endpoint, endpoint, incarnation: 1, cancellationToken);
                }

                _phase = "recovering";
                result.Recovered = await clock.WaitUntilAsync(
                    () => Sample(RecoveryCurve, clock, p => p.Node.AliveCount >= everyone - 1, _peers),
                    s.ConvergenceLimit, cancellationToken);
                result.RecoveryMs = clock.ElapsedMs - restartedAt;
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
            result.WallSeconds = wall.Elapsed.TotalSeconds;
            lock (_verifiers)
            {
                result.Verifications = _verifiers.Sum(c => Interlocked.Read(ref c.Verified));
                result.CachedVerifications = _verifiers.Sum(c => Interlocked.Read(ref c.Cached));
                result.UnknownIdentity = _verifiers.Sum(c => Interlocked.Read(ref c.UnknownIdentity));
                result.RefusedMessages = _verifiers.Sum(c => c.Refused) - result.UnknownIdentity;
                result.VerifySeconds = _verifiers.Sum(c => c.VerifySeconds);
            }

            result.PeakRssMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
            // Running nodes, and the nodes stopped along the way (their counts kept by Retire).
            foreach (var sync in _peers.Select(p => p.Node?.SyncAnswers).Concat(_retiredSync))
            {
                if (sync is var (answered, agreed, entriesSent, entriesLearned))
                {
                    result.SyncAnswered += answered;
                    result.SyncAgreed += agreed;
                    result.SyncEntriesSent += entriesSent;
                    result.SyncEntriesLearned += entriesLearned;
                }
            }
            result.GcPauseSeconds = (GC.GetTotalPauseDuration() - gcPauseStart).TotalSeconds;
            result.Gen2Collections = GC.CollectionCount(2) - gen2Start;
            result.AllocatedBytes = GC.GetTotalAllocatedBytes() - allocatedStart;
            await Task.WhenAll(_peers.Where(p => !p.Stopped && p.Node is not null).Select(p => p.Node.StopAsync().AsTask()));

            clock.Dispose();
        }
    }

    private async Task StartPeersAsync(PeerNetwork clock, CancellationToken cancellationToken)
    {
        var random = new Random(_settings.Seed);
        for (int i = 0; i < _settings.Peers; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var bootstrap = i > 0 ? _peers[random.Next(i)].Node.Endpoint : default;
            var peer = new Peer(i);
            await StartNodeAsync(peer, clock, bootstrap, default, incarnation: 0, cancellationToken);
            _peers.Add(peer);
            Interlocked.Increment(ref _started);
        }
    }

    /// <summary>
    /// Starts (or restarts, with a new incarnation on the same endpoint) one peer's node. Peer i's PKI-ID is derived from
    /// its number, so a restarted peer is the same member with a newer incarnation.
    /// </summary>
    private async Task StartNodeAsync(Peer peer, PeerNetwork clock, PeerEndpoint bootstrap, PeerEndpoint endpoint, int incarnation, CancellationToken cancellationToken)
    {
        var s = _settings;
        var options = new GossipOptions
        {
            OrgId = "Org1",
            PkiId = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"peer{peer.Index}"))),
            AliveTimeInterval = s.AliveInterval,
            AliveExpirationTimeout = s.AliveInterval * 5,
            ReconnectInterval = s.AliveInterval * 5,
            HeartbeatMode = s.Swim ? HeartbeatMode.Swim : HeartbeatMode.Fabric,

            // No data is published here: a small message store (its shards start at 16 slots and never grow here).
            MaxStoredMessages = 1024,
            Swim = new SwimOptions { ProbeInterval = s.ProbeInterval, ProbeTimeout = s.ProbeInterval / 2 },
        };
        if (s.Signing)
        {
            // One credential per peer number, kept across a restart (same PKI-ID, newer incarnation).
            lock (_credentials)
            {
                _ca ??= Engine.Security.OrgCertificateAuthority.Create("Org1", clock.Time);
                if (_trust is null)
                {
                    _trust = new Engine.Security.TrustStore(clock.Time);
                    _trust.Add("Org1", _ca.Certificate);
                }

                if (!_credentials.TryGetValue(peer.Index, out var credential))
                {
                    _credentials[peer.Index] = credential = _ca.IssuePeer(string.Create(CultureInfo.InvariantCulture, $"peer{peer.Index}.Org1"), clock.Time);
                }

                options.PkiId = null;
                options.Credential = credential;
                options.TrustStore = _trust;
            }
        }
        if (!bootstrap.IsEmpty)
        {
            options.BootstrapPeers.Add(bootstrap);
        }

        if (!s.Memory)
        {
            // N peers in one process share its file descriptors (20,000 here): every TCP connection between two of them
            // costs two. Membership sync and data pull each open connections to 3 random peers per 4 s round, so with
            // Fabric's 2-minute idle timeout N = 1,000 runs out within seconds. This verb publishes no data: pull is off
            // on sockets, and idle connections close after one sync round (4 s). At 10 s, 1,000 peers held 19,487
            // descriptors 18 s into the start (measured): a process out of descriptors fails in ways that have nothing
            // to do with the protocol (connections refused, /proc unreadable, the runtime's "Out of memory." abort).
            options.Dissemination = DisseminationMode.PushOnly;
            options.Transport.IdleTimeout = options.PullInterval;
        }

        string pkiIdHex = Convert.ToHexStringLower(options.Credential?.PkiId.ToArray() ?? options.PkiId!);
        peer.Id = pkiIdHex;
        _indexById[peer.Id] = peer.Index;
        _indexByEndpoint[endpoint] = peer.Index;
        peer.ResetSeen(s.Peers);
        if (s.Processes)
        {
            peer.Node = await ProcessPeer.StartAsync(string.Create(CultureInfo.InvariantCulture, $"peer{peer.Index}"), pkiIdHex, endpoint,
                bootstrap, s.AliveInterval, e => OnChanged(peer, e), cancellationToken);
            peer.Stopped = false;
            return;
        }

        using var owned = clock.Own(peer.Index);
        var transport = clock.CreateTransport(options, peer.Index, endpoint);
        var context = new GossipNodeContext { Time = clock.Time, Seed = s.Seed + peer.Index + (incarnation * s.Peers) };
        if (peer.Index < s.LogPeers)
        {
            context = new GossipNodeContext
            {
                Time = context.Time,
                Seed = context.Seed,
                LoggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).AddFilter(l => l >= LogLevel.Information)
                    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)),
            };
        }

        var node = new GossipNode(options, transport, context);
        node.ViewObserver = (member, state) =>
        {
            if (_indexByEndpoint.TryGetValue(member.Endpoint, out int index))
            {
                OnChanged(peer, index, state, member.Endpoint);
            }
        };
        await node.StartAsync(cancellationToken);
        if (node.Security is { } security)
        {
            lock (_verifiers)
            {
                _verifiers.Add(security.Verifier.Counters);
            }
        }

        if (node.Discovery?.Swim is { } swim)
        {
            lock (_swims)
            {
                _swims.Add(swim);
            }

            peer.Swim = swim;
        }

        peer.Node = new NodePeer(node);
        peer.Stopped = false;
    }

    /// <summary>
    /// Lets go of a stopped peer's node (in this process) once its counts are kept: its Swim counters join the retired
    /// totals, and the peer holds only its endpoint and final counts until it restarts.
    /// </summary>
    private void Retire(Peer peer)
    {
        if (peer.Swim is { } swim)
        {
            lock (_swims)
            {
                _swims.Remove(swim);
                _retiredSwim.Add(swim);
            }

            peer.Swim = null;
        }

        if (peer.Node is NodePeer)
        {
            _retiredSync.Add(peer.Node.SyncAnswers);
            peer.Node = new StoppedPeer(peer.Node);
        }
    }

    /// <summary>
    /// A false death is an observer moving a peer it had seen alive to dead while that peer was running. Learning of a dead
    /// member from someone else's view (a restarted peer's first sync) is not one: the observer never saw it alive.
    /// </summary>
    private void OnChanged(Peer observer, MembershipChangedEvent e)
    {
        if (_indexById.TryGetValue(e.PkiId, out int index))
        {
            OnChanged(observer, index, e.State, e.Endpoint);
        }
    }

    private void OnChanged(Peer observer, int index, MemberState state, PeerEndpoint endpoint)
    {
        if (observer.Stopped)
        {
            return;
        }

        if (state == MemberState.Alive)
        {
            observer.MarkSeenAlive(index, true);
            return;
        }

        if (state != MemberState.Dead || !observer.MarkSeenAlive(index, false))
        {
            return;
        }

        bool expected;
        lock (_killed)
        {
            expected = _killed.Contains(index);
        }

        if (!expected && Interlocked.Increment(ref _falseDeaths) <= 5)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"false death: {observer.Node.Endpoint} declared {endpoint} (peer {index}) dead at {Volatile.Read(ref _elapsedSeconds):F1} s ({_phase})"));
        }
    }

    private bool Sample(List<(double X, double Y)> curve, PeerNetwork clock, Func<Peer, bool> done, List<Peer> peers)
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
            var (d, b) = p.Node.Sent;
            datagrams += d;
            bytes += b;
        }

        return (datagrams, bytes);
    }

    private RunReport Report(Results r, PeerNetwork clock)
    {
        var s = _settings;
        var report = new RunReport($"membership: {s.Peers:N0} peers, {(s.Memory ? "memory" : "udp")} network, {(s.Swim ? "swim" : "fabric")} heartbeats")
            .Add("peers", "peers", (long)s.Peers)
            .Add("network", "network", s.Memory ? "memory" : "udp")
            .Add("heartbeat", "heartbeat mode", s.Swim ? "swim" : "fabric")
            .Add("processes", "one OS process per peer", s.Processes)
            .Add("seed", "seed", (long)s.Seed)
            .Add("latency_ms", "network delay (memory; 0: one event at a time)", s.Memory ? s.Latency.TotalMilliseconds : double.NaN, "N2", " ms")
            .Add("threads", "threads running virtual time", s.Memory && s.Latency > TimeSpan.Zero ? (long)s.Threads : 1L)
            .Add("converged", "every peer saw all others alive", r.Converged)
            .Add("convergence_ms", "time to converge", r.Converged ? r.ConvergenceMs : double.NaN, "N0", " ms")
            .Add("convergence_rounds", "time to converge (alive intervals)", r.Converged ? r.ConvergenceMs / s.AliveInterval.TotalMilliseconds : double.NaN, "N2")
            .Add("killed", "peers stopped", (long)r.Killed)
            .Add("detected", "every survivor saw them dead", r.Detected)
            .Add("detection_ms", "time to detect", r.Detected ? r.DetectionMs : double.NaN, "N0", " ms")
            .Add("detection_settled_ms", "time until, besides, no survivor holds another one suspect", r.DetectionSettled ? r.DetectionSettledMs : double.NaN, "N0", " ms")
            .Add("recovered", "restarted peers alive again everywhere", r.Recovered)
            .Add("recovery_ms", "time until restarted peers are seen alive", r.Recovered ? r.RecoveryMs : double.NaN, "N0", " ms")
            .Add("false_deaths", "live peers wrongly declared dead", Interlocked.Read(ref _falseDeaths))
            .Add("datagrams_per_peer_per_s", "datagrams sent per peer per second (steady)", r.DatagramsPerPeerPerSecond, "N2")
            .Add("bytes_per_peer_per_s", "bytes sent per peer per second (steady)", r.BytesPerPeerPerSecond, "N0", " B")
            .Add("cpu_s", "CPU time of the run", r.CpuSeconds, "N2", " s")
            .Add("signing", s.Signing ? "signing ON: alive messages signed and verified" : "signing OFF: pure transport/membership, nothing signed or verified", s.Signing)
            .Add("peak_rss_mb", "peak resident memory", r.PeakRssMb, "N0", " MB")
            .Add("retained_mb", "managed heap after a full collection once converged (memory network)", r.RetainedBytes > 0 ? r.RetainedBytes / (1024.0 * 1024.0) : double.NaN, "N0", " MB")
            .Add("retained_bytes_per_member_entry", "that, per member entry of all tables (N x (N - 1))", r.RetainedBytes > 0 && s.Peers > 1 ? r.RetainedBytes / ((double)s.Peers * (s.Peers - 1)) : double.NaN, "N0", " B")
            .Add("gc_pause_s", "time the runtime paused every thread for garbage collection", r.GcPauseSeconds, "N2", " s")
            .Add("gc_gen2", "full (gen 2) collections", (long)r.Gen2Collections)
            .Add("allocated_mb", "managed memory allocated during the run (all peers, the verb's own bookkeeping included)", r.AllocatedBytes / (1024.0 * 1024.0), "N0", " MB")
            .Add("network_time_s", "network time elapsed", clock.ElapsedMs / 1000, "N1", " s");
        if (!s.Processes)
        {
            report.Add("sync_answered", "membership requests answered (all peers)", r.SyncAnswered)
                .Add("sync_agreed", "of those, answered by the view digest alone (no walk of the view)", r.SyncAgreed)
                .Add("sync_entries_sent", "member entries sent in membership responses (all peers)", r.SyncEntriesSent)
                .Add("sync_entries_learned", "of those, entries that changed the receiver's table", r.SyncEntriesLearned);
        }

        if (s.Signing)
        {
            report.Add("verifications", "signatures verified (all peers)", r.Verifications)
                .Add("verifications_cached", "copies accepted from the verified-message cache", r.CachedVerifications)
                .Add("verifications_unknown_identity", "dropped until the sender's identity is pulled (restarted peers)", r.UnknownIdentity)
                .Add("verifications_refused", "signed messages refused (forged, bad identity ...)", r.RefusedMessages)
                .Add("verifications_per_s", "signatures verified per wall-clock second", r.WallSeconds > 0 ? r.Verifications / r.WallSeconds : double.NaN, "N0")
                .Add("verify_cpu_share", "share of the run's CPU time spent verifying", r.CpuSeconds > 0 ? r.VerifySeconds / r.CpuSeconds : double.NaN, "P1");
        }

        if (s.Swim && !s.Processes)
        {
            var totals = _retiredSwim;
            lock (_swims)
            {
                foreach (var swim in _swims)
                {
                    totals.Add(swim);
                }
            }

            report.Add("swim_probes", "probes sent (all peers, all runs)", totals.Probes)
                .Add("swim_probes_failed", "probes without any ack: target suspected", totals.Failed)
                .Add("swim_probes_excused", "unanswered probes not held against the target (prober unhealthy)", totals.Stalls)
                .Add("swim_late_acks", "acks that arrived after their probe period", totals.LateAcks)
                .Add("swim_confirm_pings", "direct pings to an accused whose suspicion ran out, before declaring it dead", totals.ConfirmPings)
                .Add("swim_saved_by_confirm_ping", "suspicions that ran out unrefuted, dropped because the accused answered the confirmation ping", totals.SavedByConfirmPing)
                .Add("swim_untrusted_waits", "probe intervals confirmers waited before a verdict, not trusting their own silence verdicts", totals.UntrustedWaits);
        }

        if (r.TimedOut)
        {
            report.Note("note", "stopped by --timeout before the run completed");
        }

        return report;
    }

    /// <summary>Swim counters summed over strategies (those of the nodes stopped so far are let go once added).</summary>
    private struct SwimTotals
    {
        public long Probes, Failed, Stalls, LateAcks, ConfirmPings, SavedByConfirmPing, UntrustedWaits;

        public void Add(Engine.Discovery.SwimHeartbeatStrategy swim)
        {
            Probes += Interlocked.Read(ref swim.Probes);
            Failed += Interlocked.Read(ref swim.Failed);
            Stalls += Interlocked.Read(ref swim.Stalls);
            LateAcks += Interlocked.Read(ref swim.LateAcks);
            ConfirmPings += Interlocked.Read(ref swim.ConfirmPings);
            SavedByConfirmPing += Interlocked.Read(ref swim.SavedByConfirmPing);
            UntrustedWaits += Interlocked.Read(ref swim.UntrustedWaits);
        }
    }

    private sealed class Peer(int index)
    {
        public int Index { get; } = index;

        /// <summary>The running node's Swim strategy (in this process, Swim mode), for its counters.</summary>
        public Engine.Discovery.SwimHeartbeatStrategy? Swim { get; set; }

        public string Id { get; set; } = "";

        public IScenarioPeer Node { get; set; } = null!;

        public volatile bool Stopped;

        /// <summary>One bit per peer: this observer has seen it alive (and not since dead).</summary>
        private ulong[] _seenAlive = [];

        public void ResetSeen(int peers) => _seenAlive = new ulong[(peers + 63) / 64];

        /// <summary>Sets or clears the peer's bit; returns whether it was set before.</summary>
        public bool MarkSeenAlive(int index, bool alive)
        {
            ref ulong word = ref _seenAlive[index >> 6];
            ulong bit = 1UL << (index & 63);
            ulong before = alive ? Interlocked.Or(ref word, bit) : Interlocked.And(ref word, ~bit);
            return (before & bit) != 0;
        }
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
        public bool DetectionSettled;
        public double DetectionSettledMs;
        public bool Recovered;
        public double RecoveryMs;
        public double CpuSeconds;
        public double WallSeconds;
        public long Verifications;
        public long CachedVerifications;
        public long RefusedMessages;
        public long UnknownIdentity;
        public double VerifySeconds;
        public double PeakRssMb;
        public long RetainedBytes;
        public double GcPauseSeconds;
        public int Gen2Collections;
        public long AllocatedBytes;
        public long SyncAnswered;
        public long SyncAgreed;
        public long SyncEntriesSent;
        public long SyncEntriesLearned;
        public bool TimedOut;
    }
}

/// <summary>What one membership run does.</summary>
internal sealed record MembershipRunSettings(int Peers, bool Memory, TimeSpan AliveInterval, double KillFraction, int Seed, bool Processes = false, bool Signing = false)
{
    /// <summary>SWIM-style probing (<see cref="HeartbeatMode.Swim"/>) instead of Fabric's flooding.</summary>
    public bool Swim { get; init; }

    /// <summary>Swim: the probe period (the direct-ack timeout is half of it).</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The first this many peers log to stderr.</summary>
    public int LogPeers { get; init; }

    /// <summary>The membership verb's default one-way delay of the in-memory network, in ms (a LAN's order of magnitude).</summary>
    public const double DefaultLatencyMs = 1;

    /// <summary>Memory: the network's one-way delay; above zero, peers run in parallel windows of it (see <see cref="PeerNetwork.Create"/>).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Memory, with a latency: threads that run the peers' windows.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Network time allowed for convergence before the run reports "not converged".</summary>
    public TimeSpan ConvergenceLimit => AliveInterval * Math.Max(60, 4 * Math.Log2(Math.Max(2, Peers)));

    /// <summary>Network time allowed for detection: expiry plus generous slack.</summary>
    public TimeSpan DetectionLimit => AliveInterval * 20;
}
