using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Tests.Gossip;

/// <summary>Envelopes for the dissemination tests, built with the generated protobuf classes (independent of the span codecs).</summary>
internal static class GossipMessages
{
    public const string Channel = "ch1";

    public static byte[] Block(ulong sequence, int dataBytes = 32, string channel = Channel)
    {
        var data = new byte[dataBytes];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(sequence + (ulong)i);
        }

        var message = new GossipMessage
        {
            Channel = ByteString.CopyFromUtf8(channel),
            Tag = GossipMessage.Types.Tag.ChanAndOrg,
            DataMsg = new DataMessage { Payload = new Payload { SeqNum = sequence, Data = ByteString.CopyFrom(data) } },
        };
        return new Envelope { Payload = message.ToByteString() }.ToByteArray();
    }

    public static byte[] StateInfo(byte[] pkiId, ulong inc, ulong seq, ulong height = 1, string channel = Channel)
    {
        var message = new GossipMessage
        {
            Channel = ByteString.CopyFromUtf8(channel),
            Tag = GossipMessage.Types.Tag.ChanOrOrg,
            StateInfo = new StateInfo
            {
                PkiId = ByteString.CopyFrom(pkiId),
                Timestamp = new PeerTime { IncNum = inc, SeqNum = seq },
                Properties = new Properties { LedgerHeight = height },
            },
        };
        return new Envelope { Payload = message.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]) }.ToByteArray();
    }

    public static byte[] Alive(byte[] pkiId, ulong inc, ulong seq, string endpoint = "10.0.0.1:7051")
    {
        var message = new GossipMessage
        {
            Tag = GossipMessage.Types.Tag.Empty,
            AliveMsg = new AliveMessage
            {
                Membership = new Member { Endpoint = endpoint, PkiId = ByteString.CopyFrom(pkiId) },
                Timestamp = new PeerTime { IncNum = inc, SeqNum = seq },
            },
        };
        return new Envelope { Payload = message.ToByteString(), Signature = ByteString.CopyFrom(new byte[64]) }.ToByteArray();
    }

    public static byte[] Leadership(byte[] pkiId, ulong inc, ulong seq, string channel = Channel)
    {
        var message = new GossipMessage
        {
            Channel = ByteString.CopyFromUtf8(channel),
            Tag = GossipMessage.Types.Tag.ChanAndOrg,
            LeadershipMsg = new LeadershipMessage { PkiId = ByteString.CopyFrom(pkiId), Timestamp = new PeerTime { IncNum = inc, SeqNum = seq }, IsDeclaration = true },
        };
        return new Envelope { Payload = message.ToByteString() }.ToByteArray();
    }

    public static ulong BlockSequence(ReadOnlySpan<byte> envelope)
    {
        var payload = GossipMessage.Parser.ParseFrom(Envelope.Parser.ParseFrom(envelope.ToArray()).Payload);
        return payload.DataMsg.Payload.SeqNum;
    }

    public static byte[] Key(int id)
    {
        var key = new byte[32];
        BitConverter.TryWriteBytes(key, id);
        key[31] = 0xA5;
        return key;
    }
}
