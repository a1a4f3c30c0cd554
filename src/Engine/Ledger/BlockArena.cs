using System.Runtime.InteropServices;
using Engine.Transport;

namespace Engine.Ledger;

/// <summary>Where one held block's bytes are: a range of an arena chunk, or (a block too large for a chunk) a pooled array.</summary>
internal readonly record struct BlockMemory(BlockArena.Chunk? Chunk, int Offset, byte[]? Array)
{
    public bool IsEmpty => Chunk is null && Array is null;
}

/// <summary>
/// Native memory for one ledger's blocks (its archive and reorder buffer), in 2 MiB chunks that blocks fill one after the
/// other and that go back to a process-wide pool once every block in them is released.
/// </summary>
/// <remarks>
/// Why not arrays: a ledger's archive grows by a block per commit, so each block lands in memory never touched before,
/// and on a virtual machine each first touch of a 4 KiB page is a fault costing ~12 µs: 16 of them per 64 KiB block, 38%
/// of the CPU of a 2 x 50-peer run at 30 blocks/s. Chunks are 2 MiB-aligned and advised as huge pages
/// (<c>madvise(MADV_HUGEPAGE)</c>, Linux; elsewhere, or when the kernel declines, they are ordinary pages), so a chunk
/// costs one fault, and released chunks are reused before new ones are mapped. Blocks are freed in commit order (the
/// archive drops its oldest first), so chunks empty in turn. Not thread-safe: the owning store calls it under its lock;
/// only the shared pool of free chunks is locked.
/// </remarks>
internal sealed partial class BlockArena
{
    /// <summary>The size (and alignment) of a chunk.</summary>
    public const int ChunkSize = 2 * 1024 * 1024;

    /// <summary>Blocks larger than this get a pooled array of their own instead of chunk space.</summary>
    public const int MaxChunkBlock = ChunkSize / 4;

    /// <summary>Free chunks the process keeps for reuse (256 MiB); more are returned to the system.</summary>
    public const int MaxPooledChunks = 128;

    /// <summary>Blocks start at multiples of this.</summary>
    public const int Alignment = 64;
    private const int MadvHugePage = 14;

    private static readonly Stack<Chunk> FreeChunks = new();

    private Stack<Chunk>? _reserve;
    private Chunk? _current;
    private int _firstOffset;

    /// <summary>
    /// An arena whose first block goes <paramref name="firstOffset"/> bytes into its first chunk (rounded down to the
    /// alignment). Stores pass a random offset: peers that commit the same blocks would otherwise all fill a chunk and
    /// need a fresh one (2 MiB to fault in and zero) at the same block, which with 100 peers in one process stalled
    /// every one of them at once (commits stopped for ~300 ms every 32 blocks of 64 KiB until the archive wrapped).
    /// </summary>
    public BlockArena(int firstOffset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(firstOffset, ChunkSize);
        _firstOffset = firstOffset & ~(Alignment - 1);
    }

    /// <summary>Copies <paramref name="block"/> into this arena.</summary>
    public BlockMemory Store(ReadOnlySpan<byte> block)
    {
        if (block.Length > MaxChunkBlock)
        {
            var array = LargeBuffers.Pool.Rent(block.Length);
            block.CopyTo(array);
            return new BlockMemory(null, 0, array);
        }

        var chunk = _current;
        if (chunk is null || chunk.Used + block.Length > ChunkSize)
        {
            if (chunk is not null)
            {
                chunk.Sealed = true;
                if (chunk.Live == 0)
                {
                    Release(chunk);
                }
            }

            chunk = _current = _reserve is { Count: > 0 } reserve ? reserve.Pop() : Take();
            if (_firstOffset > 0 && _firstOffset + block.Length <= ChunkSize)
            {
                chunk.Used = _firstOffset;
            }

            _firstOffset = 0;
        }

        int offset = chunk.Used;
        block.CopyTo(chunk.Span(offset, block.Length));
        chunk.Used = (offset + block.Length + Alignment - 1) & ~(Alignment - 1);
        chunk.Live++;
        return new BlockMemory(chunk, offset, null);
    }

    /// <summary>The bytes of <paramref name="memory"/> (valid until it is freed).</summary>
    public static Span<byte> Bytes(in BlockMemory memory, int length) =>
        memory.Chunk is { } chunk ? chunk.Span(memory.Offset, length) : memory.Array.AsSpan(0, length);

    /// <summary>Releases <paramref name="memory"/>; its chunk goes back to the pool when it was the last block in it.</summary>
    public static void Free(in BlockMemory memory)
    {
        if (memory.Array is { } array)
        {
            LargeBuffers.Pool.Return(array);
            return;
        }

        if (memory.Chunk is not { } chunk)
        {
            return;
        }

        chunk.Live--;
        if (chunk.Live == 0 && chunk.Sealed)
        {
            Release(chunk);
        }
    }

    /// <summary>
    /// Takes enough chunks for <paramref name="bytes"/> now (from the pool first) and writes one byte in every 4 KiB of
    /// each, so the blocks later stored in them meet memory the kernel has already mapped and zeroed (Aeron's pre-touch
    /// of its buffers). This arena's next chunks come from that reserve before the pool. Returns the chunks reserved.
    /// </summary>
    /// <remarks>
    /// On the development VM, first-touch faults cost ~1.75 s of CPU per GB even with huge pages: 100 peers in one process
    /// filling 8 MiB archives spent their first ~2.5 s of a block stream at both cores, committing late.
    /// </remarks>
    public int Pretouch(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        int chunks = bytes == 0 ? 0 : (int)Math.Min((bytes + _firstOffset + ChunkSize - 1) / ChunkSize, int.MaxValue); // the first chunk starts at the offset
        _reserve ??= new Stack<Chunk>(chunks);
        for (int i = 0; i < chunks; i++)
        {
            var chunk = Take();
            chunk.Touch();
            _reserve.Push(chunk);
        }

        return chunks;
    }

    /// <summary>Pre-touched chunks this arena has not started filling yet.</summary>
    public int Reserved => _reserve?.Count ?? 0;

    /// <summary>Gives the current chunk back (the store is disposed; every block was freed first).</summary>
    public void Close()
    {
        while (_reserve is { Count: > 0 } reserve)
        {
            Release(reserve.Pop());
        }

        if (_current is { } chunk)
        {
            _current = null;
            chunk.Sealed = true;
            if (chunk.Live == 0)
            {
                Release(chunk);
            }
        }
    }

    private static Chunk Take()
    {
        lock (FreeChunks)
        {
            if (FreeChunks.TryPop(out var reused))
            {
                return reused;
            }
        }

        return Chunk.Map();
    }

    private static void Release(Chunk chunk)
    {
        chunk.Used = 0;
        chunk.Live = 0;
        chunk.Sealed = false;
        lock (FreeChunks)
        {
            if (FreeChunks.Count < MaxPooledChunks)
            {
                FreeChunks.Push(chunk);
                return;
            }
        }

        chunk.Unmap();
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static unsafe partial int Madvise(void* address, nuint length, int advice);

    /// <summary>One 2 MiB chunk of native memory.</summary>
    internal sealed unsafe class Chunk
    {
        private byte* _base;

        private Chunk(byte* address) => _base = address;

        /// <summary>Bytes handed out (blocks are appended).</summary>
        public int Used { get; set; }

        /// <summary>Blocks not yet freed.</summary>
        public int Live { get; set; }

        /// <summary>No more blocks will be appended: it goes back to the pool when <see cref="Live"/> reaches 0.</summary>
        public bool Sealed { get; set; }

        public Span<byte> Span(int offset, int length)
        {
            ObjectDisposedException.ThrowIf(_base is null, this);
            ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)offset + (uint)length, (uint)ChunkSize);
            return new Span<byte>(_base + offset, length);
        }

        public static Chunk Map()
        {
            var address = (byte*)NativeMemory.AlignedAlloc(ChunkSize, ChunkSize);
            if (OperatingSystem.IsLinux())
            {
                _ = Madvise(address, ChunkSize, MadvHugePage); // a hint: without it (or if refused) the chunk has ordinary pages
            }

            return new Chunk(address);
        }

        /// <summary>Writes one byte in every 4 KiB page, so each page is mapped now rather than when a block lands in it.</summary>
        public void Touch()
        {
            ObjectDisposedException.ThrowIf(_base is null, this);
            for (int offset = 0; offset < ChunkSize; offset += 4096)
            {
                Volatile.Write(ref _base[offset], 0);
            }
        }

        public void Unmap()
        {
            if (_base is not null)
            {
                NativeMemory.AlignedFree(_base);
                _base = null;
            }
        }
    }
}
