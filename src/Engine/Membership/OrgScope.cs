namespace Engine.Membership;

/// <summary>An organization seen in the table, with its own sampling index (org-scoped gossip picks from it directly).</summary>
internal sealed class OrgScope
{
    public OrgScope(string name, int initialCapacity)
    {
        Name = name;
        Alive = new AliveIndex(initialCapacity, perOrg: true);
    }

    public string Name { get; }

    public AliveIndex Alive { get; }
}
