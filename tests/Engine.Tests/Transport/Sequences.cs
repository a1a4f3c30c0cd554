using System.Buffers;

namespace Engine.Tests.Transport;

/// <summary>Builds multi-segment sequences, the shape a pipe hands a parser.</summary>
internal static class Sequences
{
    public static ReadOnlySequence<byte> FromChunks(params ReadOnlyMemory<byte>[] chunks)
    {
        if (chunks.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(chunks[0], 0);
        var last = first;
        for (int i = 1; i < chunks.Length; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The bytes split into two segments at <paramref name="at"/> (either may be empty).</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int at) =>
        FromChunks(bytes.AsMemory(0, at), bytes.AsMemory(at));

    /// <summary>Every byte its own segment.</summary>
    public static ReadOnlySequence<byte> ByteByByte(byte[] bytes)
    {
        var chunks = new ReadOnlyMemory<byte>[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
        {
            chunks[i] = bytes.AsMemory(i, 1);
        }

        return FromChunks(chunks);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
