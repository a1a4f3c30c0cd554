using System.Security.Cryptography;
using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Channels;

/// <summary>The fields of a StateInfo message this layer uses.</summary>
internal readonly ref struct StateInfoFields
{
    public ReadOnlySpan<byte> PkiId { get; init; }

    public ulong IncNum { get; init; }

    public ulong SeqNum { get; init; }

    public ulong LedgerHeight { get; init; }
}

/// <summary>
/// Channel messages besides blocks and leadership: StateInfo (a peer's ledger height in a channel, CHAN_OR_ORG,
/// Fabric's fields), StateInfoPullRequest and StateInfoSnapshot. Rare messages (one per height change and interval):
/// written with the generated classes, read with the span reader.
/// </summary>
internal static class ChannelMessages
{
    public const int SnapshotContent = 16;
    public const int StateInfoPullRequestContent = 17;
    public const int StateRequestContent = 18;
    public const int StateResponseContent = 19;

    /// <summary>
    /// A RemoteStateRequest for blocks <paramref name="start"/> to <paramref name="end"/> (inclusive) of
    /// <paramref name="channel"/>; the GossipMessage's nonce identifies it, and the response carries it back (Fabric's).
    /// </summary>
    public static byte[] StateRequest(ReadOnlySpan<byte> channel, ulong nonce, ulong start, ulong end) =>
        new Engine.Protocol.Envelope
        {
            Payload = new GossipMessage
            {
                Nonce = nonce,
                Channel = ByteString.CopyFrom(channel),
                Tag = GossipMessage.Types.Tag.ChanAndOrg,
                StateRequest = new RemoteStateRequest { StartSeqNum = start, EndSeqNum = end },
            }.ToByteString(),
        }.ToByteArray();

    /// <summary>
    /// A RemoteStateResponse answering the request <paramref name="nonce"/>: <paramref name="payloads"/> are the blocks'
    /// marshalled <c>Payload</c>s, lowest first (Fabric's message: <c>repeated Payload payloads = 1</c>).
    /// </summary>
    public static byte[] StateResponse(ReadOnlySpan<byte> channel, ulong nonce, IReadOnlyList<byte[]> payloads)
    {
        int content = 0;
        foreach (var p in payloads)
        {
            content += ProtoSpanWriter.MessageFieldSize(1, p.Length);
        }

        int message = ProtoSpanWriter.VarintFieldSize(1, nonce) + ProtoSpanWriter.BytesFieldSize(2, channel.Length)
            + ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg) + ProtoSpanWriter.MessageFieldSize(StateResponseContent, content);
        var buffer = new byte[ProtoSpanWriter.MessageFieldSize(1, message)];
        var w = new ProtoSpanWriter(buffer);
        w.WriteMessageHeader(1, message);
        w.WriteVarintField(1, nonce);
        w.WriteBytesField(2, channel);
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg);
        w.WriteMessageHeader(StateResponseContent, content);
        foreach (var p in payloads)
        {
            w.WriteBytesField(1, p);
        }

        return buffer;
    }

    /// <summary>The payloads of a RemoteStateResponse (field 19's content), copied; false when malformed.</summary>
    public static bool TryReadStateResponse(ReadOnlySpan<byte> content, List<byte[]> payloads)
    {
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            if ((field, wt) == (1, WireType.LengthDelimited))
            {
                if (!r.TryReadBytes(out var payload))
                {
                    return false;
                }

                payloads.Add(payload.ToArray());
            }
            else if (!r.TrySkip(wt))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads a RemoteStateRequest (field 18's content); false when it does not parse (the range is checked by the responder).</summary>
    public static bool TryReadStateRequest(ReadOnlySpan<byte> content, out ulong start, out ulong end)
    {
        start = end = 0;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.Varint) => r.TryReadVarint(out start),
                (2, WireType.Varint) => r.TryReadVarint(out end),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The GossipMessage (the payload to sign) of a StateInfo of <paramref name="pkiId"/> in <paramref name="channel"/>.</summary>
    public static byte[] StateInfoPayload(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> pkiId, ulong incNum, ulong seqNum, ulong height) =>
        new GossipMessage
        {
            Channel = ByteString.CopyFrom(channel),
            Tag = GossipMessage.Types.Tag.ChanOrOrg,
            StateInfo = new StateInfo
            {
                PkiId = ByteString.CopyFrom(pkiId),
                Timestamp = new PeerTime { IncNum = incNum, SeqNum = seqNum },
                ChannelMAC = ByteString.CopyFrom(ChannelMac(pkiId, channel)),
                Properties = new Properties { LedgerHeight = height },
            },
        }.ToByteArray();

    /// <summary>Fabric's channel MAC: SHA-256(PKI-ID ‖ channel id).</summary>
    public static byte[] ChannelMac(ReadOnlySpan<byte> pkiId, ReadOnlySpan<byte> channel)
    {
        var data = new byte[pkiId.Length + channel.Length];
        pkiId.CopyTo(data);
        channel.CopyTo(data.AsSpan(pkiId.Length));
        return SHA256.HashData(data);
    }

    /// <summary>An envelope of <paramref name="payload"/> with <paramref name="signature"/>.</summary>
    public static byte[] Seal(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        var buffer = new byte[ProtoSpanWriter.BytesFieldSize(1, payload.Length) + ProtoSpanWriter.BytesFieldSize(2, signature.Length)];
        var w = new ProtoSpanWriter(buffer);
        w.WriteBytesField(1, payload);
        w.WriteBytesField(2, signature);
        return buffer;
    }

    /// <summary>Reads a StateInfo (the content of field 15). False when malformed or without a PKI-ID.</summary>
    public static bool TryParseStateInfo(ReadOnlySpan<byte> content, out StateInfoFields fields)
    {
        fields = default;
        ReadOnlySpan<byte> pki = default, time = default, properties = default;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (2, WireType.LengthDelimited) => r.TryReadBytes(out time),
                (3, WireType.LengthDelimited) => r.TryReadBytes(out pki),
                (5, WireType.LengthDelimited) => r.TryReadBytes(out properties),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        if (pki.IsEmpty || !PeerTimeCodec.TryRead(time, out ulong inc, out ulong seq))
        {
            return false;
        }

        ulong height = 0;
        var p = new ProtoSpanReader(properties);
        while (!p.End)
        {
            if (!p.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) == (1, WireType.Varint) ? p.TryReadVarint(out height) : p.TrySkip(wt);
            if (!ok)
            {
                return false;
            }
        }

        fields = new StateInfoFields { PkiId = pki, IncNum = inc, SeqNum = seq, LedgerHeight = height };
        return true;
    }

    /// <summary>An unsigned StateInfoPullRequest of <paramref name="channel"/> by <paramref name="pkiId"/>.</summary>
    public static byte[] PullRequest(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> pkiId) =>
        new Engine.Protocol.Envelope
        {
            Payload = new GossipMessage
            {
                Channel = ByteString.CopyFrom(channel),
                Tag = GossipMessage.Types.Tag.ChanOrOrg,
                StateInfoPullReq = new StateInfoPullRequest { ChannelMAC = ByteString.CopyFrom(ChannelMac(pkiId, channel)) },
            }.ToByteString(),
        }.ToByteArray();

    /// <summary>A StateInfoSnapshot of <paramref name="channel"/> carrying <paramref name="envelopes"/> (StateInfo envelopes as received).</summary>
    public static byte[] Snapshot(ReadOnlySpan<byte> channel, IEnumerable<byte[]> envelopes)
    {
        var snapshot = new StateInfoSnapshot();
        foreach (var envelope in envelopes)
        {
            snapshot.Elements.Add(Engine.Protocol.Envelope.Parser.ParseFrom(envelope));
        }

        return new Engine.Protocol.Envelope
        {
            Payload = new GossipMessage { Channel = ByteString.CopyFrom(channel), Tag = GossipMessage.Types.Tag.ChanOrOrg, StateSnapshot = snapshot }.ToByteString(),
        }.ToByteArray();
    }

    /// <summary>The elements of a StateInfoSnapshot (field 16's content): each an envelope; false when malformed.</summary>
    public static bool TryReadSnapshot(ReadOnlySpan<byte> content, List<byte[]> elements)
    {
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            if ((field, wt) == (1, WireType.LengthDelimited))
            {
                if (!r.TryReadBytes(out var element))
                {
                    return false;
                }

                elements.Add(element.ToArray());
            }
            else if (!r.TrySkip(wt))
            {
                return false;
            }
        }

        return true;
    }
}
