using Engine.Protocol;

namespace Engine.Ledger;

/// <summary>What a block's <c>Payload.data</c> holds (Engine-only <c>BlockContent</c>).</summary>
internal enum BlockContentKind
{
    /// <summary>No content: an empty ordinary block.</summary>
    Empty = 0,

    /// <summary>An ordinary block: opaque transaction bytes.</summary>
    Transactions,

    /// <summary>A config block: a <c>ChannelConfig</c>.</summary>
    Config,
}

/// <summary>A block envelope read in place: spans over the caller's buffer.</summary>
internal readonly ref struct BlockView
{
    public ReadOnlySpan<byte> Channel { get; init; }

    public ulong Sequence { get; init; }

    public BlockContentKind Kind { get; init; }

    /// <summary>The transactions (ordinary block) or the marshalled ChannelConfig (config block).</summary>
    public ReadOnlySpan<byte> Content { get; init; }
}

/// <summary>
/// Engine's block on the wire: Envelope{GossipMessage{channel, tag = CHAN_AND_ORG, data_msg = DataMessage{Payload{
/// seq_num, data = BlockContent}}}}, the message the orderer delivers, leaders push and pull serves (unsigned, as
/// Fabric's orderer-signed blocks carry their own signatures inside the data). Writes and reads without allocating.
/// </summary>
internal static class BlockCodec
{
    private const int PayloadField = 1;

    /// <summary>The size of a BlockContent carrying <paramref name="length"/> bytes in <paramref name="kind"/>'s field.</summary>
    public static int ContentSize(BlockContentKind kind, int length) =>
        kind == BlockContentKind.Empty ? 0 : ProtoSpanWriter.MessageFieldSize(kind == BlockContentKind.Config ? 2 : 1, length);

    private static int PayloadSize(ulong sequence, int contentSize) =>
        ProtoSpanWriter.VarintFieldSize(1, sequence) + ProtoSpanWriter.BytesFieldSize(2, contentSize);

    private static int DataMessageSize(ulong sequence, int contentSize) => ProtoSpanWriter.MessageFieldSize(PayloadField, PayloadSize(sequence, contentSize));

    private static int GossipMessageSize(ReadOnlySpan<byte> channel, ulong sequence, int contentSize) =>
        ProtoSpanWriter.BytesFieldSize(2, channel.Length) + ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg) +
        ProtoSpanWriter.MessageFieldSize(EnvelopeView.DataMessageContent, DataMessageSize(sequence, contentSize));

    /// <summary>The size of the whole block envelope.</summary>
    public static int EnvelopeSize(ReadOnlySpan<byte> channel, ulong sequence, BlockContentKind kind, int length) =>
        ProtoSpanWriter.MessageFieldSize(1, GossipMessageSize(channel, sequence, ContentSize(kind, length)));

    /// <summary>Writes a block envelope; <paramref name="destination"/> must hold <see cref="EnvelopeSize"/> bytes. Returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> channel, ulong sequence, BlockContentKind kind, ReadOnlySpan<byte> content)
    {
        if (kind == BlockContentKind.Empty && !content.IsEmpty)
        {
            throw new ArgumentException("An empty block has no content.", nameof(content));
        }

        int contentSize = ContentSize(kind, content.Length);
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, GossipMessageSize(channel, sequence, contentSize));
        w.WriteBytesField(2, channel);
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg);
        w.WriteMessageHeader(EnvelopeView.DataMessageContent, DataMessageSize(sequence, contentSize));
        w.WriteMessageHeader(PayloadField, PayloadSize(sequence, contentSize));
        w.WriteVarintField(1, sequence);
        if (contentSize > 0)
        {
            w.WriteMessageHeader(2, contentSize);
            w.WriteMessageHeader(kind == BlockContentKind.Config ? 2 : 1, content.Length);
            content.CopyTo(destination[w.Position..]);
            return w.Position + content.Length;
        }

        return w.Position;
    }

    /// <summary>A new array holding an ordinary block.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> channel, ulong sequence, ReadOnlySpan<byte> transactions)
    {
        var kind = transactions.IsEmpty ? BlockContentKind.Empty : BlockContentKind.Transactions;
        var buffer = new byte[EnvelopeSize(channel, sequence, kind, transactions.Length)];
        Write(buffer, channel, sequence, kind, transactions);
        return buffer;
    }

    /// <summary>A new array holding a config block of <paramref name="config"/>'s channel.</summary>
    public static byte[] EncodeConfig(ulong sequence, ChannelConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        byte[] channel = System.Text.Encoding.UTF8.GetBytes(config.ChannelId);
        byte[] content = config.ToBytes();
        var buffer = new byte[EnvelopeSize(channel, sequence, BlockContentKind.Config, content.Length)];
        Write(buffer, channel, sequence, BlockContentKind.Config, content);
        return buffer;
    }

    /// <summary>
    /// The size of a block envelope of <paramref name="channel"/> wrapping <paramref name="payloadLength"/> bytes of a
    /// marshalled <c>Payload</c> (what a RemoteStateResponse carries).
    /// </summary>
    public static int WrappedSize(ReadOnlySpan<byte> channel, int payloadLength) =>
        ProtoSpanWriter.MessageFieldSize(1, WrappedGossipMessageSize(channel, payloadLength));

    /// <summary>
    /// Writes the block envelope of <paramref name="channel"/> around a marshalled <c>Payload</c> (as it came in a
    /// RemoteStateResponse): the same bytes the orderer's envelope of that payload has. Returns the bytes written.
    /// </summary>
    public static int WrapPayload(Span<byte> destination, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> payload)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, WrappedGossipMessageSize(channel, payload.Length));
        w.WriteBytesField(2, channel);
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg);
        w.WriteMessageHeader(EnvelopeView.DataMessageContent, ProtoSpanWriter.MessageFieldSize(PayloadField, payload.Length));
        w.WriteMessageHeader(PayloadField, payload.Length);
        payload.CopyTo(destination[w.Position..]);
        return w.Position + payload.Length;
    }

    private static int WrappedGossipMessageSize(ReadOnlySpan<byte> channel, int payloadLength) =>
        ProtoSpanWriter.BytesFieldSize(2, channel.Length) + ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg) +
        ProtoSpanWriter.MessageFieldSize(EnvelopeView.DataMessageContent, ProtoSpanWriter.MessageFieldSize(PayloadField, payloadLength));

    /// <summary>Reads a block envelope; null when it is one, otherwise what is wrong with it.</summary>
    public static string? TryRead(ReadOnlySpan<byte> envelope, out BlockView block) => TryRead(envelope, out block, out _);

    /// <summary>Reads a block envelope and returns its marshalled <c>Payload</c> too; null when it is one, otherwise what is wrong with it.</summary>
    public static string? TryRead(ReadOnlySpan<byte> envelope, out BlockView block, out ReadOnlySpan<byte> payloadBytes)
    {
        payloadBytes = default;
        block = default;
        if (!EnvelopeView.TryParse(envelope, out var view))
        {
            return "the envelope does not parse";
        }

        if (view.ContentField != EnvelopeView.DataMessageContent)
        {
            return $"the message is not a block (content field {view.ContentField})";
        }

        if (view.Channel.IsEmpty)
        {
            return "the block names no channel";
        }

        // DataMessage { Payload payload = 1; }
        ReadOnlySpan<byte> payload = default;
        bool hasPayload = false;
        var r = new ProtoSpanReader(view.Content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt) ||
                !(field == PayloadField && wt == WireType.LengthDelimited ? (hasPayload = r.TryReadBytes(out payload)) : r.TrySkip(wt)))
            {
                return "the data message does not parse";
            }
        }

        if (!hasPayload)
        {
            return "the data message has no payload";
        }

        // Payload { uint64 seq_num = 1; bytes data = 2; }
        ulong sequence = 0;
        ReadOnlySpan<byte> data = default;
        var p = new ProtoSpanReader(payload);
        while (!p.End)
        {
            if (!p.TryReadTag(out int field, out var wt))
            {
                return "the payload does not parse";
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.Varint) => p.TryReadVarint(out sequence),
                (2, WireType.LengthDelimited) => p.TryReadBytes(out data),
                _ => p.TrySkip(wt),
            };
            if (!ok)
            {
                return "the payload does not parse";
            }
        }

        // BlockContent { oneof { bytes transactions = 1; ChannelConfig config = 2; } }: the last one on the wire wins.
        var kind = BlockContentKind.Empty;
        ReadOnlySpan<byte> content = default;
        var c = new ProtoSpanReader(data);
        while (!c.End)
        {
            if (!c.TryReadTag(out int field, out var wt))
            {
                return "the block content does not parse";
            }

            bool ok;
            if (field is 1 or 2 && wt == WireType.LengthDelimited)
            {
                ok = c.TryReadBytes(out content);
                kind = field == 1 ? BlockContentKind.Transactions : BlockContentKind.Config;
            }
            else
            {
                ok = c.TrySkip(wt);
            }

            if (!ok)
            {
                return "the block content does not parse";
            }
        }

        block = new BlockView { Channel = view.Channel, Sequence = sequence, Kind = kind, Content = content };
        payloadBytes = payload;
        return null;
    }
}
