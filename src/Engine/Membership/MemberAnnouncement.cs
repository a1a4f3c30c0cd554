using Engine.Transport;

namespace Engine.Membership;

/// <summary>
/// What a message says about a member (an alive message, or an entry of a membership response): its time, the state it
/// reports, and the member's endpoints, organization and metadata. A view over the caller's buffers: nothing is copied
/// unless the table stores something new.
/// </summary>
public readonly ref struct MemberAnnouncement
{
    /// <summary>Creates an announcement.</summary>
    /// <param name="time">The member's time carried by the message.</param>
    /// <param name="state">Alive for an alive message; Dead for a dead entry of a membership response; Suspect for SWIM modes.</param>
    /// <param name="endpoint">The endpoint other peers use to reach the member.</param>
    /// <param name="internalEndpoint">The endpoint peers of the member's own organization use (default: none).</param>
    /// <param name="org">The member's organization (MSP id); kept from the first announcement, since the PKI-ID binds it.</param>
    /// <param name="metadata">Opaque metadata carried by the alive message.</param>
    public MemberAnnouncement(PeerTime time, MemberState state, PeerEndpoint endpoint, PeerEndpoint internalEndpoint = default, string? org = null, ReadOnlySpan<byte> metadata = default)
    {
        Time = time;
        State = state;
        Endpoint = endpoint;
        InternalEndpoint = internalEndpoint;
        _org = org;
        Metadata = metadata;
    }

    /// <summary>The member's time carried by the message.</summary>
    public PeerTime Time { get; }

    /// <summary>The state the message reports.</summary>
    public MemberState State { get; }

    /// <summary>The endpoint other peers use to reach the member.</summary>
    public PeerEndpoint Endpoint { get; }

    /// <summary>The endpoint for peers of the member's own organization (empty when none).</summary>
    public PeerEndpoint InternalEndpoint { get; }

    /// <summary>
    /// The endpoint peers of other organizations may see (Fabric's external endpoint); empty when the member is not visible
    /// outside its organization. For a member of another organization it is the endpoint it is reached at.
    /// </summary>
    public PeerEndpoint ExternalEndpoint { get; init; }

    private readonly string? _org;

    /// <summary>The member's organization (MSP id); empty when unknown.</summary>
    public string Org => _org ?? string.Empty;

    /// <summary>Opaque metadata.</summary>
    public ReadOnlySpan<byte> Metadata { get; }
}
