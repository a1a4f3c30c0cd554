using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Ordering;

/// <summary>
/// The delivery stream's control messages (Engine-only GossipMessage contents 110-112: DeliverRequest, DeliverStop,
/// DeliverStatus), as unsigned envelopes sent as frames. Rare messages: encoded with the generated classes.
/// </summary>
internal static class DeliveryCodec
{
    public const int RequestContent = 110;
    public const int StopContent = 111;
    public const int StatusContent = 112;

    public static byte[] Request(string channel, ulong start, string org) =>
        Wrap(channel, new GossipMessage { DeliverReq = new DeliverRequest { StartSeqNum = start, OrgId = org } });

    public static byte[] Stop(string channel) => Wrap(channel, new GossipMessage { DeliverStop = new DeliverStop() });

    public static byte[] Status(string channel, DeliverStatus.Types.Code code, string reason, ulong start = 0) =>
        Wrap(channel, new GossipMessage { DeliverStatus = new DeliverStatus { Code = code, Reason = reason, StartSeqNum = start } });

    /// <summary>Parses a control message; null when the envelope is not one (or does not parse).</summary>
    public static GossipMessage? TryParse(in EnvelopeView view)
    {
        if (view.ContentField is not (RequestContent or StopContent or StatusContent))
        {
            return null;
        }

        try
        {
            return GossipMessage.Parser.ParseFrom(view.Payload);
        }
        catch (InvalidProtocolBufferException)
        {
            return null;
        }
    }

    private static byte[] Wrap(string channel, GossipMessage message)
    {
        message.Channel = ByteString.CopyFromUtf8(channel);
        message.Tag = GossipMessage.Types.Tag.ChanAndOrg;
        return new Envelope { Payload = message.ToByteString() }.ToByteArray();
    }
}
