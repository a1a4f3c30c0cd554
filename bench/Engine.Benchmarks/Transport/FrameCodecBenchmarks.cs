using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gate;
using Engine.Transport;
using Engine.Transport.Tcp;

namespace Engine.Benchmarks.Transport;

/// <summary>
/// One stream frame written into a pipe and read back out of it (header validation, LZ4 compress and decompress when on):
/// the per-frame codec cost of a TCP connection without the socket. The payload is compressible text.
/// </summary>
[MemoryDiagnoser]
[Gated]
public class FrameCodecBenchmarks : IDisposable
{
    private const int MaxPayload = 16 * 1024 * 1024;

    private readonly BlockMemoryPool _pool = new();
    private readonly Pipe _pipe;
    private byte[] _body = [];
    private byte[] _copy = [];
    private int _threshold;

    public FrameCodecBenchmarks() => _pipe = new(new PipeOptions(
        pool: _pool,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        minimumSegmentSize: TcpConnection.SegmentSize,
        useSynchronizationContext: false));

    [Params(256, 4 * 1024, 64 * 1024, 1024 * 1024)]
    public int Size { get; set; }

    [Params(false, true)]
    public bool Lz4 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] text = Encoding.ASCII.GetBytes("DataUpdate nonce=4711 channel=mychannel block=#1234 from peer0.org1.example.com:7051; ");
        _body = new byte[Size];
        for (int i = 0; i < _body.Length; i += text.Length)
        {
            text.AsSpan(0, Math.Min(text.Length, _body.Length - i)).CopyTo(_body.AsSpan(i));
        }

        _threshold = Lz4 ? 1 : 0;
        _copy = new byte[Size];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _pipe.Reader.Complete();
        _pipe.Writer.Complete();
        _pool.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public long WriteAndRead()
    {
        FrameWriter.Write(_pipe.Writer, FrameType.Message, _body, _threshold, out _);
        var flush = _pipe.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("an unpaused pipe flushes synchronously");
        }

        _ = flush.Result;
        if (!_pipe.Reader.TryRead(out var result))
        {
            throw new InvalidOperationException("nothing to read");
        }

        var buffer = result.Buffer;
        if (FrameReader.TryReadFrame(ref buffer, MaxPayload, out var frame, out var error) != FrameReadStatus.Complete)
        {
            throw new InvalidOperationException($"frame not read back: {error}");
        }

        long length = frame.Payload.Length;
        frame.Release();
        _pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
        GateInjection.Apply();
        return length;
    }

    /// <summary>The gate's reference: the body copied out and back, as a write and a read of the pipe would.</summary>
    [Benchmark(Baseline = true)]
    public int CopyReference()
    {
        _body.CopyTo(_copy, 0);
        _copy.CopyTo(_body, 0);
        return _body[^1];
    }
}
