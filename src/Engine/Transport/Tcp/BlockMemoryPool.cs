using System.Buffers;
using System.Collections.Concurrent;

namespace Engine.Transport.Tcp;

/// <summary>
/// Fixed-size pinned blocks for the connections' pipes (after Kestrel's PinnedBlockMemoryPool). The shared ArrayPool keeps
/// only a few dozen arrays per size, and a busy connection has more segments in flight than that, so it would allocate;
/// this pool keeps every block it has handed out (up to <see cref="MaxRetainedBlocks"/>), so a warm transport allocates
/// nothing. Blocks live on the pinned object heap: sockets use them without pinning costs and they never fragment the heap.
/// Requests larger than a block go to the ArrayPool (the pipe does that itself, above <see cref="MaxBufferSize"/>).
/// </summary>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Blocks kept for reuse at most (64 MiB); beyond that, returned blocks are left to the GC.</summary>
    public const int MaxRetainedBlocks = 1024;

    private readonly ConcurrentQueue<Block> _blocks = new();
    private int _retained;
    private bool _disposed;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            ThrowTooLarge(minBufferSize);
        }

        if (_blocks.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _retained);
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        Volatile.Write(ref _disposed, true);
        _blocks.Clear();
    }

    private void Return(Block block)
    {
        if (Volatile.Read(ref _disposed))
        {
            return;
        }

        if (Interlocked.Increment(ref _retained) > MaxRetainedBlocks)
        {
            Interlocked.Decrement(ref _retained);
            return;
        }

        _blocks.Enqueue(block);
    }

    private static void ThrowTooLarge(int size) =>
        throw new ArgumentOutOfRangeException(nameof(size), size, $"blocks are {BlockSize} bytes");

    private sealed class Block(BlockMemoryPool pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public void Dispose() => pool.Return(this);
    }
}
