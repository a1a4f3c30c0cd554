using System.Buffers;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gate;
using Engine.Transport;
using Engine.Transport.Tcp;

namespace Engine.Benchmarks.Transport;

/// <summary>
/// Frames streamed over one real loopback TCP connection between two connection managers: each operation sends
/// <see cref="FramesPerInvoke"/> frames and waits until the receiver has had them all, and is reported per frame.
/// Random payloads (LZ4 is tried above 4 KiB and does not help, so they go raw).
/// </summary>
[MemoryDiagnoser]
[Gated]
public class TcpStreamBenchmarks : IDisposable
{
    private const int FramesPerInvoke = 1000;

    private readonly FrameCountingHandler _receiver = new();
    private readonly FrameCountingHandler _sender = new();
    private TcpConnectionManager? _from;
    private TcpConnectionManager? _to;
    private byte[] _body = [];
    private RawTcpPair? _raw;

    [Params(256, 4 * 1024, 64 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = new byte[Size];
        new Random(42).NextBytes(_body);
        var options = new TransportOptions { ListenEndpoint = PeerEndpoint.Loopback(0) };
        _from = new TcpConnectionManager(options);
        _to = new TcpConnectionManager(options);
        _from.StartAsync(_sender).AsTask().GetAwaiter().GetResult();
        _to.StartAsync(_receiver).AsTask().GetAwaiter().GetResult();
        SendAndReceive(); // connect and warm up
        _raw = new RawTcpPair();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _from?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _to?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _from = _to = null;
        _raw?.Dispose();
        _raw = null;
        _receiver.Dispose();
        _sender.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = FramesPerInvoke)]
    public void SendAndReceive()
    {
        var to = _to!.LocalEndpoint;
        _receiver.Expect(FramesPerInvoke);
        for (int i = 0; i < FramesPerInvoke; i++)
        {
            SendStatus status;
            while ((status = _from!.Send(to, _body)) == SendStatus.QueueFull)
            {
                Thread.Yield(); // the 4 MiB send queue is full: let the send loop drain it
            }

            if (status != SendStatus.Sent)
            {
                throw new InvalidOperationException($"send failed: {status}");
            }
        }

        if (!_receiver.Wait(TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException("frames did not arrive");
        }

        GateInjection.Apply();
    }

    /// <summary>The gate's reference: the same bytes (bodies and frame headers) through a plain socket pair in 64 KiB writes.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = FramesPerInvoke)]
    public void RawSocketReference() => _raw!.Transfer((long)FramesPerInvoke * (Size + FrameHeader.Size));
}
