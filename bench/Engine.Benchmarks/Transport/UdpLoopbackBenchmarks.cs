using System.Buffers;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gate;
using Engine.Transport;
using Engine.Transport.Udp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Benchmarks.Transport;

/// <summary>
/// One UDP datagram (200-byte body) from a sender <see cref="UdpEndpoint"/> to a receiver on loopback, counted by the
/// receiver's handler: the send path, the kernel, and the receive loop. Sent in batches of 64; an operation is one
/// datagram received. Lost datagrams (rare on loopback) are topped up so an invocation always completes.
/// </summary>
[MemoryDiagnoser]
[Gated]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Disposed in [GlobalCleanup], as BenchmarkDotNet expects.")]
public class UdpLoopbackBenchmarks
{
    private const int Batch = 64;

    private readonly byte[] _payload = new byte[200];
    private CountingHandler _handler = null!;
    private UdpEndpoint _sender = null!;
    private UdpEndpoint _receiver = null!;
    private PeerEndpoint _target;
    private RawUdpPair _raw = null!;

    [GlobalSetup]
    public void Setup()
    {
        _handler = new CountingHandler();
        _sender = new UdpEndpoint(new TransportOptions(), NullLogger.Instance);
        _receiver = new UdpEndpoint(new TransportOptions(), NullLogger.Instance);
        _sender.Bind();
        _receiver.Start(_handler);
        _target = _receiver.LocalEndpoint;
        _raw = new RawUdpPair(_payload.Length + DatagramHeader.Size);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _receiver.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _handler.Dispose();
        _raw.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long SendAndReceive()
    {
        long target = _handler.Expect(Batch);
        for (int i = 0; i < Batch; i++)
        {
            _sender.Send(_target, _payload);
        }

        while (!_handler.WaitUntilReached(TimeSpan.FromMilliseconds(50)))
        {
            // Top up whatever was lost, so the invocation never hangs.
            long missing = target - _handler.Count;
            for (long i = 0; i < missing; i++)
            {
                _sender.Send(_target, _payload);
            }
        }

        GateInjection.Apply();
        return _handler.Count;
    }

    /// <summary>The gate's reference: plain sockets, the same datagram size and batch, received on the sending thread.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void RawSocketReference() => _raw.SendAndReceive(Batch);

    private sealed class CountingHandler : ITransportHandler, IDisposable
    {
        private readonly ManualResetEventSlim _reached = new(false, spinCount: 200);
        private long _count;
        private long _target;

        public long Count => Volatile.Read(ref _count);

        public long Expect(int more)
        {
            _reached.Reset();
            long target = Count + more;
            Volatile.Write(ref _target, target);
            if (Count >= target)
            {
                _reached.Set();
            }

            return target;
        }

        public bool WaitUntilReached(TimeSpan timeout) => _reached.Wait(timeout);

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
            if (Interlocked.Increment(ref _count) >= Volatile.Read(ref _target))
            {
                _reached.Set();
            }
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }

        public void Dispose() => _reached.Dispose();
    }
}
