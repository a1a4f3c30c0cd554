using BenchmarkDotNet.Attributes;
using Engine.Benchmarks.Gate;
using Engine.Protocol;

namespace Engine.Benchmarks.Protocol;

/// <summary>
/// Encode + decode of a signed-size alive envelope (32-byte PKI-ID, ECDSA P-256 DER signature of 72 bytes) through the
/// allocation-free codec: the per-heartbeat cost. The reference is a fixed 4 KiB of memory copying.
/// </summary>
[MemoryDiagnoser]
[Gated]
public class AliveCodecBenchmarks
{
    private readonly byte[] _pkiId = new byte[32];
    private readonly byte[] _endpoint = "127.0.0.1:7051"u8.ToArray();
    private readonly byte[] _metadata = new byte[16];
    private readonly byte[] _signature = new byte[72];
    private readonly byte[] _buffer = new byte[512];
    private readonly byte[] _copy = new byte[2048];
    private readonly byte[] _reference = new byte[2048];
    private ulong _seq;
    private int _length;

    [GlobalSetup]
    public void Setup()
    {
        new Random(7).NextBytes(_pkiId);
        new Random(8).NextBytes(_signature);
        _length = EncodeDecode() > 0 ? AliveCodec.EnvelopeSize(Fields(), _signature.Length) : 0;
    }

    private AliveFields Fields() => new() { PkiId = _pkiId, Endpoint = _endpoint, Metadata = _metadata, IncNum = 1_763_800_000_000_000_000, SeqNum = _seq };

    [Benchmark]
    public ulong EncodeDecode()
    {
        _seq++;
        int written = AliveCodec.Write(_buffer, Fields(), _signature);
        if (!EnvelopeView.TryParse(_buffer.AsSpan(0, written), out var view) || !AliveCodec.TryParse(view.Content, out var alive))
        {
            throw new InvalidOperationException("codec round trip failed");
        }

        GateInjection.Apply();
        return alive.SeqNum + (ulong)view.Signature.Length;
    }

    [Benchmark(Baseline = true)]
    public int CopyReference()
    {
        // 4 KiB of copying: long enough (tens of ns) to be a steady yardstick for a ~200 ns operation.
        _reference.CopyTo(_copy, 0);
        _copy.CopyTo(_reference, 0);
        return _reference[_length];
    }
}
