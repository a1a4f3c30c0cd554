namespace Engine.Membership;

/// <summary>
/// The organizations seen in a table. Read on every org-scoped sample and every reachability change, added to only when
/// a member of a new organization arrives: copy-on-write (a dictionary by name, an array by number), so reads take no
/// lock; adding takes one.
/// </summary>
internal sealed class OrgDirectory(int initialCapacity)
{
    private Dictionary<string, OrgScope> _scopes = new(StringComparer.Ordinal);

    private readonly Lock _addGate = new();

    // The scopes by organization number (OrgNames): how a member, which holds only the number, finds its scope.
    private OrgScope?[] _byId = [];

    // The last scope found: callers usually pass the same string instance (their own org) again and again.
    private OrgScope? _last;

    public OrgScope? Find(string org)
    {
        var last = Volatile.Read(ref _last);
        if (last is not null && ReferenceEquals(last.Name, org))
        {
            return last;
        }

        var scope = Volatile.Read(ref _scopes).GetValueOrDefault(org);
        if (scope is not null)
        {
            Volatile.Write(ref _last, scope);
        }

        return scope;
    }

    /// <summary>The scope of the organization numbered <paramref name="id"/>: one this table added (its members' numbers always are).</summary>
    public OrgScope ScopeOf(int id) => Volatile.Read(ref _byId)[id]!;

    /// <summary>
    /// The scope of <paramref name="org"/>, added if new; <paramref name="second"/> is true for the call that added the
    /// second. Null when the organization cannot be numbered (<see cref="OrgNames.MaxId"/> names are taken).
    /// </summary>
    public OrgScope? GetOrAdd(string org, out bool second)
    {
        second = false;
        if (Volatile.Read(ref _scopes).TryGetValue(org, out var scope))
        {
            return scope;
        }

        // Adding is rare (once per organization per table): one lock, so the number and the name publish as a pair.
        lock (_addGate)
        {
            var scopes = _scopes;
            if (scopes.TryGetValue(org, out scope))
            {
                return scope;
            }

            int id = OrgNames.Shared.IdOf(org);
            if (id < 0)
            {
                return null;
            }

            // The first organization starts without an index of its own (the all-members index serves it).
            var added = new OrgScope(OrgNames.Shared.NameOf(id), id, initialCapacity, indexed: scopes.Count > 0);
            var byId = new OrgScope?[Math.Max(_byId.Length, id + 1)];
            _byId.CopyTo(byId, 0);
            byId[id] = added;

            // Reachable by number before by name: a member holding the number is inserted only after this returns.
            Volatile.Write(ref _byId, byId);
            Volatile.Write(ref _scopes, new Dictionary<string, OrgScope>(scopes, StringComparer.Ordinal) { [org] = added });
            second = scopes.Count == 1;
            return added;
        }
    }

    /// <summary>Every scope (a snapshot).</summary>
    public IEnumerable<OrgScope> All => Volatile.Read(ref _scopes).Values;
}
