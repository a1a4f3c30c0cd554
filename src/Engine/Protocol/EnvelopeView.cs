namespace Engine.Protocol;

/// <summary>
/// A zero-copy view of an Envelope and the header of the GossipMessage inside it: the payload (the signed bytes), the
/// signature, the secret envelope, and the GossipMessage's nonce, channel, tag and which content it carries.
/// </summary>
internal readonly ref struct EnvelopeView
{
    // GossipMessage field numbers (protos/gossip.proto).
    public const int AliveContent = 5;
    public const int MembershipRequestContent = 6;
    public const int MembershipResponseContent = 7;
    public const int DataMessageContent = 8;
    public const int HelloContent = 9;
    public const int DigestContent = 10;
    public const int RequestContent = 11;
    public const int UpdateContent = 12;
    public const int StateInfoContent = 15;
    public const int LeadershipContent = 20;
    public const int AppDataContent = 100;
    public const int AnnounceContent = 101;
    public const int WantContent = 102;
    public const int SwimContent = 120;

    public ReadOnlySpan<byte> Payload { get; init; }

    public ReadOnlySpan<byte> Signature { get; init; }

    public ReadOnlySpan<byte> SecretEnvelope { get; init; }

    public ulong Nonce { get; init; }

    public ReadOnlySpan<byte> Channel { get; init; }

    public GossipMessage.Types.Tag Tag { get; init; }

    /// <summary>The GossipMessage oneof field number, or 0 when the message carries no content.</summary>
    public int ContentField { get; init; }

    public ReadOnlySpan<byte> Content { get; init; }

    /// <summary>Parses an Envelope and its GossipMessage header. Returns false on malformed input.</summary>
    public static bool TryParse(ReadOnlySpan<byte> envelope, out EnvelopeView view)
    {
        view = default;
        ReadOnlySpan<byte> payload = default, signature = default, secret = default;
        var reader = new ProtoSpanReader(envelope);
        while (!reader.End)
        {
            if (!reader.TryReadTag(out int field, out var wireType))
            {
                return false;
            }

            bool ok = (field, wireType) switch
            {
                (1, WireType.LengthDelimited) => reader.TryReadBytes(out payload),
                (2, WireType.LengthDelimited) => reader.TryReadBytes(out signature),
                (3, WireType.LengthDelimited) => reader.TryReadBytes(out secret),
                _ => reader.TrySkip(wireType),
            };
            if (!ok)
            {
                return false;
            }
        }

        ulong nonce = 0, tag = 0;
        ReadOnlySpan<byte> channel = default, content = default;
        int contentField = 0;
        var message = new ProtoSpanReader(payload);
        while (!message.End)
        {
            if (!message.TryReadTag(out int field, out var wireType))
            {
                return false;
            }

            bool ok;
            if (field == 1 && wireType == WireType.Varint)
            {
                ok = message.TryReadVarint(out nonce);
            }
            else if (field == 2 && wireType == WireType.LengthDelimited)
            {
                ok = message.TryReadBytes(out channel);
            }
            else if (field == 3 && wireType == WireType.Varint)
            {
                ok = message.TryReadVarint(out tag);
            }
            else if (field >= AliveContent && wireType == WireType.LengthDelimited)
            {
                // A oneof: the last content field on the wire wins, as in protobuf.
                ok = message.TryReadBytes(out content);
                contentField = field;
            }
            else
            {
                ok = message.TrySkip(wireType);
            }

            if (!ok)
            {
                return false;
            }
        }

        if (tag > (ulong)GossipMessage.Types.Tag.ChanOrOrg)
        {
            return false;
        }

        view = new EnvelopeView
        {
            Payload = payload,
            Signature = signature,
            SecretEnvelope = secret,
            Nonce = nonce,
            Channel = channel,
            Tag = (GossipMessage.Types.Tag)tag,
            ContentField = contentField,
            Content = content,
        };
        return true;
    }
}
