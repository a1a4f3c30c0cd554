using System.Text;
using Engine.Ledger;
using Engine.Transport;

namespace Engine.Tests.Ledger;

internal static class LedgerTestKit
{
    public const string Channel = "mychannel";

    public static readonly byte[] ChannelBytes = Encoding.UTF8.GetBytes(Channel);

    public static readonly PeerEndpoint Source = PeerEndpoint.Parse("10.0.0.9:7051");

    public static ChannelConfiguration Config(params (string Org, string[] Anchors)[] orgs) =>
        new(Channel, orgs.Select(o => new OrgAnchors(o.Org, o.Anchors.Select(PeerEndpoint.Parse).ToArray())));

    public static ChannelConfiguration TwoOrgs() => Config(("Org1", []), ("Org2", []));

    public static byte[] Genesis(ChannelConfiguration? config = null) => BlockCodec.EncodeConfig(0, config ?? TwoOrgs());

    public static byte[] Block(ulong number, int bytes = 64)
    {
        var data = new byte[bytes];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(number * 31 + (ulong)i);
        }

        return BlockCodec.Encode(ChannelBytes, number, data);
    }
}
