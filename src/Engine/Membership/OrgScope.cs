namespace Engine.Membership;

/// <summary>
/// An organization seen in the table, with its own sampling index (org-scoped gossip picks from it directly). The
/// table's first organization has none while it is the only one: every reachable member is then in the all-members
/// index, which serves its samples; the reachability tracker builds it when a second organization appears.
/// </summary>
internal sealed class OrgScope
{
    private readonly int _initialCapacity;
    private AliveIndex? _alive;

    public OrgScope(string name, int id, int initialCapacity, bool indexed)
    {
        Name = name;
        Id = id;
        _initialCapacity = initialCapacity;
        _alive = indexed ? new AliveIndex(initialCapacity, perOrg: true) : null;
    }

    public string Name { get; }

    /// <summary>The organization's number (<see cref="OrgNames"/>), as its members hold it.</summary>
    public int Id { get; }

    /// <summary>The organization's own sampling index; null while the all-members index serves it.</summary>
    public AliveIndex? Alive => Volatile.Read(ref _alive);

    /// <summary>Builds the index from the members of this organization in <paramref name="all"/>. Called by the combiner only.</summary>
    public void BuildIndex(AliveIndex all)
    {
        if (Alive is not null)
        {
            return;
        }

        var index = new AliveIndex(Math.Max(_initialCapacity, all.Count), perOrg: true);
        for (int i = 0; i < all.Count; i++)
        {
            if (all.At(i) is { } member && member.OrgId == Id)
            {
                index.Add(member);
            }
        }

        Volatile.Write(ref _alive, index);
    }
}
