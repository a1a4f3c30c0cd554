using BenchmarkDotNet.Attributes;
using Engine.Ledger;
using Engine.Transport;

namespace Engine.Benchmarks.Ledger;

/// <summary>
/// Block commit with reorder: each operation encodes 8 consecutive blocks into reused buffers and offers them to the
/// channel's ledger in reverse order (7 wait in the reorder buffer, the 8th commits all 8). <see cref="EncodeOnly"/> is
/// the encoding part alone, to subtract. Per block (OperationsPerInvoke = 8).
/// </summary>
[MemoryDiagnoser]
public class BlockStoreBenchmarks : IDisposable
{
    private const int Batch = 8;
    private static readonly byte[] Channel = "mychannel"u8.ToArray();
    private static readonly PeerEndpoint Source = PeerEndpoint.Parse("10.0.0.9:7051");
    private readonly byte[][] _buffers = new byte[Batch][];
    private readonly int[] _lengths = new int[Batch];
    private byte[] _data = [];
    private BlockStore _store = null!;
    private ulong _next;

    [Params(1024, 65536)]
    public int BlockBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[BlockBytes];
        new Random(1).NextBytes(_data);
        for (int i = 0; i < Batch; i++)
        {
            _buffers[i] = new byte[BlockCodec.EnvelopeSize(Channel, ulong.MaxValue, BlockContentKind.Transactions, BlockBytes)];
        }

        var config = new ChannelConfiguration("mychannel", [new OrgAnchors("Org1", []), new OrgAnchors("Org2", [])]);
        _store = BlockStore.Join(BlockCodec.EncodeConfig(0, config), new LedgerOptions());
        _next = 1;
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public ulong CommitWithReorder()
    {
        Encode();
        for (int i = Batch - 1; i >= 0; i--)
        {
            _store.Offer(_buffers[i].AsSpan(0, _lengths[i]), Source);
        }

        _next += Batch;
        return _store.Height;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public ulong EncodeOnly()
    {
        Encode();
        _next += Batch;
        return _next;
    }

    private void Encode()
    {
        for (int i = 0; i < Batch; i++)
        {
            _lengths[i] = BlockCodec.Write(_buffers[i], Channel, _next + (ulong)i, BlockContentKind.Transactions, _data);
        }
    }
}
