using System.Diagnostics;
using Engine.Node;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// Where a scenario's peers live, and its clock: real UDP/TCP sockets on loopback (wall clock, polled), or the in-memory
/// network in virtual time (advanced by the scenario). Shared by the verbs that run many <see cref="GossipNode"/>s in
/// one process.
/// </summary>
internal abstract class PeerNetwork : IDisposable
{
    /// <summary>
    /// A network of <paramref name="peers"/> peers; <paramref name="policy"/> (loss, delay) applies to the in-memory one
    /// only. In memory, a policy with a delay runs the peers in parallel windows of that delay on
    /// <paramref name="threads"/> threads (the same result whatever the thread count; see
    /// <see cref="VirtualTimeProvider.EnableParallel"/>): each peer's events are its own once started in <see cref="Own"/>.
    /// </summary>
    public static PeerNetwork Create(bool memory, int peers, NetworkPolicy? policy = null, TimeSpan? step = null, int threads = 1) =>
        memory ? new Virtual(peers, policy, step ?? TimeSpan.FromMilliseconds(100), threads) : new Sockets(peers);

    public abstract bool IsMemory { get; }

    public abstract TimeProvider Time { get; }

    /// <summary>Network time since the network was created.</summary>
    public abstract double ElapsedMs { get; }

    /// <summary>The in-memory network (null on sockets).</summary>
    public virtual MemoryNetwork? Memory => null;

    /// <summary>Runs the network until <paramref name="condition"/> holds or <paramref name="limit"/> of network time passes.</summary>
    public abstract Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken);

    /// <summary>Lets <paramref name="duration"/> of network time pass.</summary>
    public Task PassAsync(TimeSpan duration, CancellationToken cancellationToken) => WaitUntilAsync(static () => false, duration, cancellationToken);

    /// <summary>
    /// The transport of peer <paramref name="index"/>, and <paramref name="options"/>' endpoint set to match.
    /// <paramref name="endpoint"/> is the endpoint to reuse on a restart (empty: a fresh one: 127.0.0.1:7051+index in
    /// memory, an OS-picked loopback port pair on sockets).
    /// </summary>
    public abstract ITransport CreateTransport(GossipOptions options, int index, PeerEndpoint endpoint);

    /// <summary>
    /// Until disposed, what this thread creates and schedules (the transport, the node, their timers) belongs to peer
    /// <paramref name="index"/>: in parallel virtual time, its events then run beside other peers' (null otherwise).
    /// </summary>
    public virtual IDisposable? Own(int index) => null;

    public virtual void Dispose()
    {
    }

    private sealed class Virtual : PeerNetwork
    {
        private readonly VirtualTimeProvider _time = new();
        private readonly MemoryNetwork _network;
        private readonly long _start;
        private readonly int _peers;
        private readonly TimeSpan _step;

        public Virtual(int peers, NetworkPolicy? policy, TimeSpan step, int threads)
        {
            _peers = peers;
            _step = step;
            _start = _time.GetTimestamp();
            policy ??= NetworkPolicy.Perfect();
            if (policy.Delay > TimeSpan.Zero)
            {
                _time.EnableParallel(policy.Delay, threads);
            }

            _network = new MemoryNetwork(policy, _time);
        }

        public override IDisposable? Own(int index) => _time.IsParallel ? _time.EnterOwner(index + 1) : null;

        public override void Dispose()
        {
            _time.StopWorkers();
            base.Dispose();
        }

        public override bool IsMemory => true;

        public override TimeProvider Time => _time;

        public override MemoryNetwork Memory => _network;

        public override double ElapsedMs => _time.GetElapsedTime(_start).TotalMilliseconds;

        public override Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
        {
            var deadline = _time.GetUtcNow() + limit;
            while (!condition())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var now = _time.GetUtcNow();
                if (now >= deadline)
                {
                    return Task.FromResult(false);
                }

                var left = deadline - now;
                _time.Advance(left < _step ? left : _step);
            }

            return Task.FromResult(true);
        }

        public override ITransport CreateTransport(GossipOptions options, int index, PeerEndpoint endpoint)
        {
            endpoint = endpoint.IsEmpty ? PeerEndpoint.Loopback(checked((ushort)(MemoryNetwork.AutoPort + index))) : endpoint;
            options.Endpoint = endpoint;
            options.Transport.MaxInboundConnections = Math.Max(options.Transport.MaxInboundConnections, _peers * 2);
            return _network.CreateTransport(endpoint, options.Transport);
        }
    }

    private sealed class Sockets(int peers) : PeerNetwork
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();

        public override bool IsMemory => false;

        public override TimeProvider Time => TimeProvider.System;

        public override double ElapsedMs => _watch.Elapsed.TotalMilliseconds;

        public override async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan limit, CancellationToken cancellationToken)
        {
            var deadline = _watch.Elapsed + limit;
            while (!condition())
            {
                if (_watch.Elapsed >= deadline)
                {
                    return false;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50, Math.Max(1, (deadline - _watch.Elapsed).TotalMilliseconds))), cancellationToken);
            }

            return true;
        }

        public override ITransport CreateTransport(GossipOptions options, int index, PeerEndpoint endpoint)
        {
            // One port pair each, kept on restart; the node announces what it bound. Ports come from below the kernel's
            // ephemeral range when there is room: the many connections the peers open take ephemeral source ports, and
            // one that took a stopped peer's port would keep it from restarting there ("address already in use").
            // Many endpoints in one process: receive on the thread pool, not one thread per socket.
            endpoint = endpoint.IsEmpty ? PeerEndpoint.Loopback(LoopbackPorts.TryFree(out ushort port) ? port : (ushort)0) : endpoint;
            options.Transport.ListenEndpoint = endpoint;
            options.Transport.UdpReceiveThread = false;
            options.Transport.MaxInboundConnections = Math.Max(options.Transport.MaxInboundConnections, peers * 2);
            options.Endpoint = endpoint;
            return SocketTransport.Create(options.Transport);
        }
    }
}
