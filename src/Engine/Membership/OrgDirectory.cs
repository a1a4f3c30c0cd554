namespace Engine.Membership;

/// <summary>
/// The organizations seen in a table. Read on every org-scoped sample, added to only when a member of a new
/// organization arrives: a copy-on-write dictionary, swapped in with compare-and-swap, so reads take no lock.
/// </summary>
internal sealed class OrgDirectory(int initialCapacity)
{
    private Dictionary<string, OrgScope> _scopes = new(StringComparer.Ordinal);

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

    /// <summary>The scope of <paramref name="org"/>, added if new; <paramref name="second"/> is true for the call that added the second.</summary>
    public OrgScope GetOrAdd(string org, out bool second)
    {
        second = false;
        var scopes = Volatile.Read(ref _scopes);
        while (true)
        {
            if (scopes.TryGetValue(org, out var scope))
            {
                return scope;
            }

            // The first organization starts without an index of its own (the all-members index serves it).
            var added = new OrgScope(org, initialCapacity, indexed: scopes.Count > 0);
            var larger = new Dictionary<string, OrgScope>(scopes, StringComparer.Ordinal) { [org] = added };
            var seen = Interlocked.CompareExchange(ref _scopes, larger, scopes);
            if (ReferenceEquals(seen, scopes))
            {
                second = larger.Count == 2;
                return added;
            }

            scopes = seen;
        }
    }

    /// <summary>Every scope (a snapshot).</summary>
    public IEnumerable<OrgScope> All => Volatile.Read(ref _scopes).Values;
}
