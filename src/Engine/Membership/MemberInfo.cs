using Engine.Transport;

namespace Engine.Membership;

/// <summary>
/// A member's endpoints and metadata as of <see cref="Stamp"/>. Immutable; replaced by reference (allocating) only when
/// an accepted message carries different values, and only by a newer stamp, so it never goes back to older news.
/// </summary>
internal sealed class MemberInfo
{
    public static readonly byte[] NoMetadata = [];

    public readonly PeerTime Stamp;
    public readonly PeerEndpoint Endpoint;
    public readonly PeerEndpoint InternalEndpoint;
    public readonly PeerEndpoint ExternalEndpoint;
    public readonly byte[] Metadata;

    public MemberInfo(in MemberAnnouncement announcement)
    {
        Stamp = announcement.Time;
        Endpoint = announcement.Endpoint;
        InternalEndpoint = announcement.InternalEndpoint;
        ExternalEndpoint = announcement.ExternalEndpoint;
        Metadata = announcement.Metadata.IsEmpty ? NoMetadata : announcement.Metadata.ToArray();
    }

    public bool SameAs(in MemberAnnouncement announcement) =>
        Endpoint == announcement.Endpoint
        && InternalEndpoint == announcement.InternalEndpoint
        && ExternalEndpoint == announcement.ExternalEndpoint
        && announcement.Metadata.SequenceEqual(Metadata);
}
