using Engine.Protocol;

namespace Engine.Gossip.Pull;

/// <summary>The four pull messages (their GossipMessage oneof field numbers).</summary>
internal enum PullMessageType
{
    Hello = EnvelopeView.HelloContent,
    Digest = EnvelopeView.DigestContent,
    Request = EnvelopeView.RequestContent,
    Update = EnvelopeView.UpdateContent,
}

/// <summary>
/// A parsed pull message: Envelope{GossipMessage{channel, tag, hello | data_dig | data_req | data_update}}, a view over
/// the received bytes. GossipHello { nonce = 1; metadata = 2; msg_type = 3 }; DataDigest and DataRequest
/// { nonce = 1; repeated bytes digests = 2; msg_type = 3 }; DataUpdate { nonce = 1; repeated Envelope data = 2; msg_type = 3 }.
/// </summary>
internal readonly ref struct PullMessage
{
    public PullMessageType Type { get; init; }

    public ulong Nonce { get; init; }

    public PullMsgType MsgType { get; init; }

    public ReadOnlySpan<byte> Channel { get; init; }

    /// <summary>The number of digests (Digest, Request) or envelopes (Update).</summary>
    public int ItemCount { get; init; }

    /// <summary>The content message; iterate its items with <see cref="Items"/>.</summary>
    public ReadOnlySpan<byte> Content { get; init; }

    public ItemEnumerator Items => new(Type == PullMessageType.Hello ? default : Content);

    /// <summary>False when the envelope is not a pull message at all; <paramref name="malformed"/> when it is one but broken.</summary>
    public static bool TryParse(ReadOnlySpan<byte> envelope, out PullMessage message, out bool malformed)
    {
        message = default;
        malformed = false;
        if (!EnvelopeView.TryParse(envelope, out var view))
        {
            malformed = true;
            return false;
        }

        if (view.ContentField is < EnvelopeView.HelloContent or > EnvelopeView.UpdateContent)
        {
            return false;
        }

        ulong nonce = 0, msgType = 0;
        int items = 0;
        bool isHello = view.ContentField == EnvelopeView.HelloContent;
        var r = new ProtoSpanReader(view.Content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                malformed = true;
                return false;
            }

            bool ok;
            if (field == 1 && wt == WireType.Varint)
            {
                ok = r.TryReadVarint(out nonce);
            }
            else if (field == 3 && wt == WireType.Varint)
            {
                ok = r.TryReadVarint(out msgType);
            }
            else if (field == 2 && wt == WireType.LengthDelimited)
            {
                ok = r.TryReadBytes(out _);
                items += isHello ? 0 : 1;
            }
            else
            {
                ok = r.TrySkip(wt);
            }

            if (!ok)
            {
                malformed = true;
                return false;
            }
        }

        message = new PullMessage
        {
            Type = (PullMessageType)view.ContentField,
            Nonce = nonce,
            MsgType = (PullMsgType)msgType,
            Channel = view.Channel,
            ItemCount = items,
            Content = view.Content,
        };
        return true;
    }

    /// <summary>Enumerates the repeated field 2 of a Digest, Request or Update (already validated by TryParse).</summary>
    public ref struct ItemEnumerator
    {
        private ProtoSpanReader _reader;

        public ItemEnumerator(ReadOnlySpan<byte> content)
        {
            _reader = new ProtoSpanReader(content);
            Current = default;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly ItemEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (!_reader.End)
            {
                if (!_reader.TryReadTag(out int field, out var wt))
                {
                    return false;
                }

                if (field == 2 && wt == WireType.LengthDelimited)
                {
                    if (!_reader.TryReadBytes(out var item))
                    {
                        return false;
                    }

                    Current = item;
                    return true;
                }

                if (!_reader.TrySkip(wt))
                {
                    return false;
                }
            }

            return false;
        }
    }
}

/// <summary>
/// Writes pull messages without allocating: the caller computes the items' total size (<see cref="ItemSize"/> each),
/// asks <see cref="EnvelopeSize"/> for the buffer size, then <see cref="Begin"/>, one <see cref="AddItem"/> per item,
/// and <see cref="Finish"/>. Pull messages are unsigned (as in Fabric).
/// </summary>
internal ref struct PullMessageWriter
{
    private ProtoSpanWriter _writer;
    private readonly PullMsgType _msgType;

    private PullMessageWriter(Span<byte> destination, PullMsgType msgType)
    {
        _writer = new ProtoSpanWriter(destination);
        _msgType = msgType;
    }

    public static int ItemSize(int length) => ProtoSpanWriter.MessageFieldSize(2, length);

    private static int ContentSize(ulong nonce, PullMsgType msgType, int itemsSize) =>
        ProtoSpanWriter.VarintFieldSize(1, nonce) + itemsSize + ProtoSpanWriter.VarintFieldSize(3, (ulong)msgType);

    private static int PayloadSize(PullMessageType type, ulong nonce, PullMsgType msgType, ReadOnlySpan<byte> channel, GossipMessage.Types.Tag tag, int itemsSize) =>
        ProtoSpanWriter.BytesFieldSize(2, channel.Length) + ProtoSpanWriter.VarintFieldSize(3, (ulong)tag) +
        ProtoSpanWriter.MessageFieldSize((int)type, ContentSize(nonce, msgType, itemsSize));

    public static int EnvelopeSize(PullMessageType type, ulong nonce, PullMsgType msgType, ReadOnlySpan<byte> channel, GossipMessage.Types.Tag tag, int itemsSize) =>
        ProtoSpanWriter.MessageFieldSize(1, PayloadSize(type, nonce, msgType, channel, tag, itemsSize));

    public static PullMessageWriter Begin(Span<byte> destination, PullMessageType type, ulong nonce, PullMsgType msgType, ReadOnlySpan<byte> channel, GossipMessage.Types.Tag tag, int itemsSize)
    {
        var w = new PullMessageWriter(destination, msgType);
        w._writer.WriteMessageHeader(1, PayloadSize(type, nonce, msgType, channel, tag, itemsSize));
        w._writer.WriteBytesField(2, channel);
        w._writer.WriteVarintField(3, (ulong)tag);
        w._writer.WriteMessageHeader((int)type, ContentSize(nonce, msgType, itemsSize));
        w._writer.WriteVarintField(1, nonce);
        return w;
    }

    public void AddItem(ReadOnlySpan<byte> item)
    {
        _writer.WriteBytesField(2, item); // items are never empty (callers skip them), so this always writes
    }

    public int Finish()
    {
        _writer.WriteVarintField(3, (ulong)_msgType);
        return _writer.Position;
    }
}
