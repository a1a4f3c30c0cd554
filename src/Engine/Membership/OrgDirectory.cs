namespace Engine.Membership;

/// <summary>
/// The organizations seen in a table: their scopes by organization number (<see cref="OrgNames"/>, which also maps
/// names to numbers). Read on every org-scoped sample and every reachability change, added to only when a member of a
/// new organization arrives: a copy-on-write array, so reads take no lock; adding takes one.
/// </summary>
internal sealed class OrgDirectory(int initialCapacity)
{
    private readonly Lock _addGate = new();

    // Indexed by organization number: how a member, which holds only the number, finds its scope.
    private OrgScope?[] _byId = [];
    private int _count;

    // The last scope found: callers usually pass the same string instance (their own org) again and again.
    private OrgScope? _last;

    public OrgScope? Find(string org)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && ReferenceEquals(last.Name, org))
        {
            return last;
        }

        var scope = OrgNames.Shared.TryGetId(org, out int id) ? At(id) : null;
        if (scope is not null)
        {
            Volatile.Write(ref _last, scope);
        }

        return scope;
    }

    /// <summary>The scope of the organization numbered <paramref name="id"/>: one this table added (its members' numbers always are).</summary>
    public OrgScope ScopeOf(int id) => At(id)!;

    /// <summary>
    /// The scope of <paramref name="org"/>, added if new; <paramref name="second"/> is true for the call that added the
    /// second. Null when the organization cannot be numbered (<see cref="OrgNames.MaxId"/> names are taken).
    /// </summary>
    public OrgScope? GetOrAdd(string org, out bool second)
    {
        second = false;
        if (OrgNames.Shared.TryGetId(org, out int known) && At(known) is { } scope)
        {
            return scope;
        }

        // Adding is rare (once per organization per table): one lock.
        lock (_addGate)
        {
            int id = OrgNames.Shared.IdOf(org);
            if (id < 0)
            {
                return null;
            }

            if (At(id) is { } raced)
            {
                return raced;
            }

            // The first organization starts without an index of its own (the all-members index serves it). A member
            // holding the number is inserted only after this returns, so the scope is there before any member is.
            var added = new OrgScope(OrgNames.Shared.NameOf(id), id, initialCapacity, indexed: _count > 0);
            var byId = new OrgScope?[Math.Max(_byId.Length, id + 1)];
            _byId.CopyTo(byId, 0);
            byId[id] = added;
            Volatile.Write(ref _byId, byId);
            second = ++_count == 2;
            return added;
        }
    }

    /// <summary>Every scope (a snapshot).</summary>
    public IEnumerable<OrgScope> All => Volatile.Read(ref _byId).OfType<OrgScope>();

    private OrgScope? At(int id)
    {
        var byId = Volatile.Read(ref _byId);
        return (uint)id < (uint)byId.Length ? byId[id] : null;
    }
}
