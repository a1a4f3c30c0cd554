using Engine.Membership;

namespace Engine.Discovery;

/// <content>
/// Expiry: every check interval (a tenth of the expiration timeout, as Fabric), members silent for longer than the
/// timeout are declared dead, and dead members unheard of for the retention time are purged (never those marked by
/// <see cref="Protect"/>).
/// </content>
internal sealed partial class DiscoveryService
{
    private void CheckExpiry()
    {
        long now = _time.GetTimestamp();
        if (_strategy.ExpiresSilentMembers)
        {
            foreach (var member in _table.ExpireSilent(now))
            {
                OnChange(member, MembershipChange.Died, now);
            }
        }

        foreach (var member in _table.PurgeDead(now))
        {
            OnChange(member, MembershipChange.Purged, now);
        }
    }
}
