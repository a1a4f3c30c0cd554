using System.Buffers;
using BenchmarkDotNet.Attributes;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Benchmarks.Transport;

/// <summary>
/// The in-memory network on virtual time: one datagram or frame (200-byte body) sent and delivered (copy into a pooled
/// buffer, one heap event, delivery to the handler) per operation; and a 10,000-node round in which every node sends one
/// datagram to a random peer, with jitter, so the event heap holds 10,000 entries; and the same round in parallel windows
/// (<see cref="VirtualTimeProvider.EnableParallel"/>, 2 threads, each node its own owner): the windows' cost per event
/// where each event does almost nothing (what a simulation's real events must outweigh).
/// </summary>
[MemoryDiagnoser]
public class MemoryNetworkBenchmarks
{
    private const int Nodes = 10_000;

    private readonly byte[] _payload = new byte[200];
    private readonly CountingHandler _handler = new();
    private VirtualTimeProvider _time = null!;
    private MemoryTransport _a = null!;
    private MemoryTransport _b = null!;
    private VirtualTimeProvider _bigTime = null!;
    private MemoryTransport[] _nodes = null!;
    private int[] _peers = null!;
    private VirtualTimeProvider _parallelTime = null!;
    private MemoryTransport[] _parallelNodes = null!;
    private readonly SharedCountingHandler _sharedHandler = new();

    [GlobalSetup]
    public void Setup()
    {
        _time = new VirtualTimeProvider();
        var network = new MemoryNetwork(new NetworkPolicy { Delay = TimeSpan.FromMilliseconds(1) }, _time);
        _a = network.CreateTransport();
        _b = network.CreateTransport();
        _a.StartAsync(_handler).AsTask().GetAwaiter().GetResult();
        _b.StartAsync(_handler).AsTask().GetAwaiter().GetResult();

        _bigTime = new VirtualTimeProvider();
        var big = new MemoryNetwork(new NetworkPolicy { Seed = 4, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(10) }, _bigTime);
        _nodes = new MemoryTransport[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            _nodes[i] = big.CreateTransport();
            _nodes[i].StartAsync(_handler).AsTask().GetAwaiter().GetResult();
        }

        _parallelTime = new VirtualTimeProvider();
        _parallelTime.EnableParallel(TimeSpan.FromMilliseconds(1), threads: 2);
        var parallel = new MemoryNetwork(new NetworkPolicy { Seed = 4, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(10) }, _parallelTime);
        _parallelNodes = new MemoryTransport[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            using (_parallelTime.EnterOwner(i + 1))
            {
                _parallelNodes[i] = parallel.CreateTransport();
            }

            _parallelNodes[i].StartAsync(_sharedHandler).AsTask().GetAwaiter().GetResult();
        }

        var random = new Random(5);
        _peers = new int[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            _peers[i] = random.Next(Nodes);
        }
    }

    [Benchmark]
    public long Datagram()
    {
        _a.SendDatagram(_b.LocalEndpoint, _payload);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        return _handler.Received;
    }

    [Benchmark]
    public long Frame()
    {
        _a.SendFrame(_b.LocalEndpoint, _payload);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        return _handler.Received;
    }

    [Benchmark(OperationsPerInvoke = Nodes)]
    public long DatagramRoundOf10kNodes()
    {
        for (int i = 0; i < Nodes; i++)
        {
            _nodes[i].SendDatagram(_nodes[_peers[i]].LocalEndpoint, _payload);
        }

        _bigTime.RunUntilIdle(int.MaxValue);
        return _handler.Received;
    }

    [Benchmark(OperationsPerInvoke = Nodes)]
    public long DatagramRoundOf10kNodesInParallelWindows()
    {
        for (int i = 0; i < Nodes; i++)
        {
            _parallelNodes[i].SendDatagram(_parallelNodes[_peers[i]].LocalEndpoint, _payload);
        }

        _parallelTime.RunUntilIdle(int.MaxValue);
        return _sharedHandler.Received;
    }

    [GlobalCleanup]
    public void Cleanup() => _parallelTime.StopWorkers();

    private sealed class SharedCountingHandler : ITransportHandler
    {
        private long _received;

        public long Received => Volatile.Read(ref _received);

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Interlocked.Add(ref _received, payload.Length);

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload) => Interlocked.Add(ref _received, payload.Length);

        public void OnConnectionLost(PeerEndpoint peer, string reason) => throw new InvalidOperationException(reason);
    }

    private sealed class CountingHandler : ITransportHandler
    {
        public long Received { get; private set; }

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Received += payload.Length;

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload) => Received += payload.Length;

        public void OnConnectionLost(PeerEndpoint peer, string reason) => throw new InvalidOperationException(reason);
    }
}
