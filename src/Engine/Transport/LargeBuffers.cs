using System.Buffers;

namespace Engine.Transport;

/// <summary>
/// The pool of large byte buffers (frames made contiguous, relay frames, ledger blocks too large for a chunk). The shared pool
/// keeps only a few arrays per size per core: a node receiving, relaying and archiving a 64 KiB block several hundred
/// times a second missed it on most rents, and each miss was a fresh array whose first touch cost page faults. This one
/// keeps up to <see cref="ArraysPerSize"/> arrays of each power-of-two size up to <see cref="MaxLength"/> (a frame's
/// largest body), shared by every node of the process.
/// </summary>
internal static class LargeBuffers
{
    /// <summary>The largest array the pool keeps (larger rents are plain allocations).</summary>
    public const int MaxLength = 16 * 1024 * 1024 + 1024;

    /// <summary>Arrays of each size the pool keeps.</summary>
    public const int ArraysPerSize = 1024;

    public static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(MaxLength, ArraysPerSize);
}
