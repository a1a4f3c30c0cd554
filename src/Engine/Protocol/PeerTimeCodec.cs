namespace Engine.Protocol;

/// <summary>Reads a PeerTime { uint64 inc_num = 1; uint64 seq_num = 2; } from its bytes, without allocating.</summary>
internal static class PeerTimeCodec
{
    public static bool TryRead(ReadOnlySpan<byte> bytes, out ulong incNum, out ulong seqNum)
    {
        incNum = 0;
        seqNum = 0;
        var t = new ProtoSpanReader(bytes);
        while (!t.End)
        {
            if (!t.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.Varint) => t.TryReadVarint(out incNum),
                (2, WireType.Varint) => t.TryReadVarint(out seqNum),
                _ => t.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
