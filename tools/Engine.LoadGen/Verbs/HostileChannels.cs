using Engine.Ledger;
using Engine.Node;
using Engine.Ordering;
using Engine.Transport;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// The channels of the hostile network, the way a Fabric network of two orgs is built: peers bootstrap only to a peer of
/// their own org, and the orgs learn each other through the anchors of a channel both are in. <c>ch0</c> holds Org1
/// and Org2 (anchors: the first peer of each); <c>ch1</c> (<see cref="HostileMessages.Channel"/>) is Org1's alone, the
/// channel the state-info and leadership attacks aim at.
/// </summary>
internal sealed class HostileChannels(Orderer orderer, PeerEndpoint ordererEndpoint, IReadOnlyList<PeerEndpoint> endpoints, IReadOnlyList<string> orgs)
{
    public const string Shared = "ch0";

    private byte[]? _shared;
    private byte[]? _org1;

    /// <summary>The first peer of <paramref name="org"/>: its anchor, and the bootstrap peer of the org's others.</summary>
    public PeerEndpoint FirstOf(string org) => endpoints[IndexOfFirst(org)];

    /// <summary>Bootstrap (to the first peer of the org, unless this is it) and the external endpoint other orgs see.</summary>
    public void Configure(GossipOptions options, int index)
    {
        int first = IndexOfFirst(orgs[index]);
        if (index != first)
        {
            options.BootstrapPeers.Add(endpoints[first]);
        }

        options.ExternalEndpoint = endpoints[index];
    }

    /// <summary>Creates both channels at the orderer (once).</summary>
    public void Create()
    {
        _shared ??= orderer.CreateChannel(new ChannelConfiguration(Shared,
            orgs.Distinct(StringComparer.Ordinal).Select(org => new OrgAnchors(org, [FirstOf(org)]))));
        _org1 ??= orderer.CreateChannel(new ChannelConfiguration(System.Text.Encoding.UTF8.GetString(HostileMessages.Channel),
            [new OrgAnchors("Org1", [FirstOf("Org1")])]));
    }

    /// <summary>Joins <paramref name="node"/> (peer <paramref name="index"/>) to ch0, and to ch1 when it is of Org1.</summary>
    public void Join(GossipNode node, int index)
    {
        Create();
        node.JoinChannel(_shared, ordererEndpoint);
        if (orgs[index] == "Org1")
        {
            node.JoinChannel(_org1, ordererEndpoint);
        }
    }

    private int IndexOfFirst(string org)
    {
        for (int i = 0; i < orgs.Count; i++)
        {
            if (orgs[i] == org)
            {
                return i;
            }
        }

        throw new ArgumentException($"No peer of {org} in the hostile network.", nameof(org));
    }
}
