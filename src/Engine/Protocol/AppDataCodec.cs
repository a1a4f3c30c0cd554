namespace Engine.Protocol;

/// <summary>The fields of an AppData message, as spans over the caller's buffers (nothing is copied).</summary>
internal readonly ref struct AppDataFields
{
    /// <summary>The publisher's PKI-ID.</summary>
    public ReadOnlySpan<byte> PkiId { get; init; }

    /// <summary>The publisher's incarnation (its alive messages' inc_num).</summary>
    public ulong IncNum { get; init; }

    /// <summary>The message's number within the publisher's incarnation.</summary>
    public ulong SeqNum { get; init; }

    /// <summary>The application's bytes.</summary>
    public ReadOnlySpan<byte> Data { get; init; }
}

/// <summary>
/// Encodes and decodes Envelope{GossipMessage{tag = EMPTY, app_data}} without allocating. The bytes are identical to
/// Google.Protobuf's for the same message (see the golden test).
/// </summary>
internal static class AppDataCodec
{
    // AppData { bytes pki_id = 1; PeerTime timestamp = 2; bytes data = 3; }  PeerTime { uint64 inc_num = 1; uint64 seq_num = 2; }
    private static int PeerTimeSize(ulong inc, ulong seq) => ProtoSpanWriter.VarintFieldSize(1, inc) + ProtoSpanWriter.VarintFieldSize(2, seq);

    private static int AppDataSize(in AppDataFields f) =>
        ProtoSpanWriter.BytesFieldSize(1, f.PkiId.Length) + ProtoSpanWriter.MessageFieldSize(2, PeerTimeSize(f.IncNum, f.SeqNum)) +
        ProtoSpanWriter.BytesFieldSize(3, f.Data.Length);

    private static int PayloadSize(in AppDataFields f) =>
        ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.Empty) + ProtoSpanWriter.MessageFieldSize(EnvelopeView.AppDataContent, AppDataSize(f));

    /// <summary>The size of the (unsigned) envelope.</summary>
    public static int EnvelopeSize(in AppDataFields f) => ProtoSpanWriter.BytesFieldSize(1, PayloadSize(f));

    /// <summary>Writes the unsigned envelope; <paramref name="destination"/> must hold <see cref="EnvelopeSize"/> bytes. Returns its length.</summary>
    public static int Write(Span<byte> destination, in AppDataFields f)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, PayloadSize(f));
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.Empty);
        w.WriteMessageHeader(EnvelopeView.AppDataContent, AppDataSize(f));
        w.WriteBytesField(1, f.PkiId);
        w.WriteMessageHeader(2, PeerTimeSize(f.IncNum, f.SeqNum));
        w.WriteVarintField(1, f.IncNum);
        w.WriteVarintField(2, f.SeqNum);
        w.WriteBytesField(3, f.Data);
        return w.Position;
    }

    /// <summary>Parses the content of an app_data GossipMessage (<see cref="EnvelopeView.Content"/>).</summary>
    public static bool TryParse(ReadOnlySpan<byte> appData, out AppDataFields fields)
    {
        fields = default;
        ReadOnlySpan<byte> pkiId = default, time = default, data = default;
        var r = new ProtoSpanReader(appData);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out pkiId),
                (2, WireType.LengthDelimited) => r.TryReadBytes(out time),
                (3, WireType.LengthDelimited) => r.TryReadBytes(out data),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        if (!PeerTimeCodec.TryRead(time, out ulong inc, out ulong seq))
        {
            return false;
        }

        fields = new AppDataFields { PkiId = pkiId, IncNum = inc, SeqNum = seq, Data = data };
        return true;
    }
}
