namespace Engine.Protocol;

/// <summary>The fields of an AliveMessage, as spans over the caller's buffers (nothing is copied).</summary>
internal readonly ref struct AliveFields
{
    public ReadOnlySpan<byte> PkiId { get; init; }

    /// <summary>The member's endpoint, "host:port", UTF-8.</summary>
    public ReadOnlySpan<byte> Endpoint { get; init; }

    public ReadOnlySpan<byte> Metadata { get; init; }

    public ulong IncNum { get; init; }

    public ulong SeqNum { get; init; }

    /// <summary>The sender's certificate; Fabric sends it only during publishCertPeriod after start.</summary>
    public ReadOnlySpan<byte> Identity { get; init; }

    /// <summary>
    /// The member's internal endpoint ("host:port", UTF-8), carried in the envelope's secret envelope (outside the signed
    /// payload) when the member has an external endpoint; empty: no secret envelope. Never sent to another org.
    /// </summary>
    public ReadOnlySpan<byte> InternalEndpoint { get; init; }
}

/// <summary>
/// Encodes and decodes Envelope{GossipMessage{tag = EMPTY, alive_msg}} without allocating: the heartbeat hot path.
/// The bytes are identical to what Google.Protobuf produces for the same message (see the golden tests).
/// </summary>
internal static class AliveCodec
{
    // AliveMessage { Member membership = 1; PeerTime timestamp = 2; bytes identity = 4; }
    // Member { string endpoint = 1; bytes metadata = 2; bytes pki_id = 3; }
    // PeerTime { uint64 inc_num = 1; uint64 seq_num = 2; }
    private static int MemberSize(in AliveFields f) =>
        ProtoSpanWriter.BytesFieldSize(1, f.Endpoint.Length) + ProtoSpanWriter.BytesFieldSize(2, f.Metadata.Length) + ProtoSpanWriter.BytesFieldSize(3, f.PkiId.Length);

    private static int PeerTimeSize(ulong inc, ulong seq) => ProtoSpanWriter.VarintFieldSize(1, inc) + ProtoSpanWriter.VarintFieldSize(2, seq);

    private static int AliveSize(in AliveFields f) =>
        ProtoSpanWriter.MessageFieldSize(1, MemberSize(f)) + ProtoSpanWriter.MessageFieldSize(2, PeerTimeSize(f.IncNum, f.SeqNum)) +
        ProtoSpanWriter.BytesFieldSize(4, f.Identity.Length);

    /// <summary>The size of the GossipMessage (the envelope's payload).</summary>
    public static int PayloadSize(in AliveFields f) =>
        ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.Empty) + ProtoSpanWriter.MessageFieldSize(EnvelopeView.AliveContent, AliveSize(f));

    /// <summary>The size of the whole envelope for a signature of <paramref name="signatureLength"/> bytes.</summary>
    public static int EnvelopeSize(in AliveFields f, int signatureLength)
    {
        int payload = PayloadSize(f);
        return ProtoSpanWriter.BytesFieldSize(1, payload) + ProtoSpanWriter.BytesFieldSize(2, signatureLength) + SecretFieldSize(f.InternalEndpoint);
    }

    // Envelope.secret_envelope = 3: SecretEnvelope { payload = 1: Secret { internalEndpoint = 1 } } (unsigned in Engine).
    private static int SecretSize(ReadOnlySpan<byte> endpoint) => ProtoSpanWriter.BytesFieldSize(1, endpoint.Length);

    private static int SecretFieldSize(ReadOnlySpan<byte> endpoint) =>
        endpoint.IsEmpty ? 0 : ProtoSpanWriter.MessageFieldSize(3, ProtoSpanWriter.MessageFieldSize(1, SecretSize(endpoint)));

    /// <summary>Appends the envelope's secret envelope (the internal endpoint) when there is one; returns the new total length.</summary>
    public static int WriteSecret(Span<byte> destination, int written, in AliveFields f)
    {
        if (f.InternalEndpoint.IsEmpty)
        {
            return written;
        }

        var w = new ProtoSpanWriter(destination[written..]);
        int secret = SecretSize(f.InternalEndpoint);
        w.WriteMessageHeader(3, ProtoSpanWriter.MessageFieldSize(1, secret));
        w.WriteMessageHeader(1, secret);
        w.WriteBytesField(1, f.InternalEndpoint);
        return written + w.Position;
    }

    /// <summary>The internal endpoint text inside an envelope's secret envelope; false when there is none or it is malformed.</summary>
    public static bool TryReadInternalEndpoint(ReadOnlySpan<byte> secretEnvelope, out ReadOnlySpan<byte> endpoint)
    {
        endpoint = default;
        return TryReadBytesField(secretEnvelope, 1, out var secret) && TryReadBytesField(secret, 1, out endpoint) && !endpoint.IsEmpty;
    }

    /// <summary>
    /// Copies <paramref name="envelope"/> without its secret envelope (what may cross an org boundary: the payload and
    /// signature, byte for byte); returns the length written, or -1 when the envelope is malformed.
    /// </summary>
    public static int WriteWithoutSecret(ReadOnlySpan<byte> envelope, Span<byte> destination)
    {
        var r = new ProtoSpanReader(envelope);
        var w = new ProtoSpanWriter(destination);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return -1;
            }

            if (wt != WireType.LengthDelimited || !r.TryReadBytes(out var value))
            {
                return -1;
            }

            if (field is 1 or 2)
            {
                w.WriteBytesField(field, value);
            }
        }

        return w.Position;
    }

    private static bool TryReadBytesField(ReadOnlySpan<byte> message, int wanted, out ReadOnlySpan<byte> value)
    {
        value = default;
        var r = new ProtoSpanReader(message);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            if (field == wanted && wt == WireType.LengthDelimited)
            {
                if (!r.TryReadBytes(out value))
                {
                    return false;
                }
            }
            else if (!r.TrySkip(wt))
            {
                return false;
            }
        }

        return !value.IsEmpty;
    }

    /// <summary>
    /// Writes the envelope's payload field (tag, length, GossipMessage) and returns the payload span, so the caller can sign
    /// exactly those bytes and then call <see cref="WriteSignature"/>. <paramref name="destination"/> must hold
    /// <see cref="EnvelopeSize"/> bytes.
    /// </summary>
    public static int WritePayload(Span<byte> destination, in AliveFields f, out Range payloadRange)
    {
        int payloadSize = PayloadSize(f);
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, payloadSize);
        int payloadStart = w.Position;
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.Empty);
        w.WriteMessageHeader(EnvelopeView.AliveContent, AliveSize(f));
        w.WriteMessageHeader(1, MemberSize(f));
        w.WriteBytesField(1, f.Endpoint);
        w.WriteBytesField(2, f.Metadata);
        w.WriteBytesField(3, f.PkiId);
        w.WriteMessageHeader(2, PeerTimeSize(f.IncNum, f.SeqNum));
        w.WriteVarintField(1, f.IncNum);
        w.WriteVarintField(2, f.SeqNum);
        w.WriteBytesField(4, f.Identity);
        payloadRange = new Range(payloadStart, w.Position);
        return w.Position;
    }

    /// <summary>Appends the envelope's signature field after the payload; returns the new total length.</summary>
    public static int WriteSignature(Span<byte> destination, int written, ReadOnlySpan<byte> signature)
    {
        var w = new ProtoSpanWriter(destination[written..]);
        w.WriteBytesField(2, signature);
        return written + w.Position;
    }

    /// <summary>Writes an unsigned or pre-signed alive envelope in one call; returns its length.</summary>
    public static int Write(Span<byte> destination, in AliveFields f, ReadOnlySpan<byte> signature)
    {
        int written = WritePayload(destination, f, out _);
        return WriteSecret(destination, WriteSignature(destination, written, signature), f);
    }

    /// <summary>Parses the content of an alive GossipMessage (<see cref="EnvelopeView.Content"/>).</summary>
    public static bool TryParse(ReadOnlySpan<byte> aliveMessage, out AliveFields fields)
    {
        fields = default;
        ReadOnlySpan<byte> member = default, time = default, identity = default;
        var r = new ProtoSpanReader(aliveMessage);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out member),
                (2, WireType.LengthDelimited) => r.TryReadBytes(out time),
                (4, WireType.LengthDelimited) => r.TryReadBytes(out identity),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        ReadOnlySpan<byte> endpoint = default, metadata = default, pkiId = default;
        var m = new ProtoSpanReader(member);
        while (!m.End)
        {
            if (!m.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => m.TryReadBytes(out endpoint),
                (2, WireType.LengthDelimited) => m.TryReadBytes(out metadata),
                (3, WireType.LengthDelimited) => m.TryReadBytes(out pkiId),
                _ => m.TrySkip(wt),
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

        fields = new AliveFields { PkiId = pkiId, Endpoint = endpoint, Metadata = metadata, IncNum = inc, SeqNum = seq, Identity = identity };
        return true;
    }

    /// <summary>The size of the AliveMessage alone (as embedded in other messages, e.g. SWIM probes).</summary>
    public static int MessageSize(in AliveFields f) => AliveSize(f);

    /// <summary>Writes the AliveMessage alone (no envelope); returns its length (<see cref="MessageSize"/>).</summary>
    public static int WriteMessage(Span<byte> destination, in AliveFields f)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, MemberSize(f));
        w.WriteBytesField(1, f.Endpoint);
        w.WriteBytesField(2, f.Metadata);
        w.WriteBytesField(3, f.PkiId);
        w.WriteMessageHeader(2, PeerTimeSize(f.IncNum, f.SeqNum));
        w.WriteVarintField(1, f.IncNum);
        w.WriteVarintField(2, f.SeqNum);
        w.WriteBytesField(4, f.Identity);
        return w.Position;
    }
}
