using System.Collections.Concurrent;

namespace Engine.Membership;

/// <summary>
/// The organizations named in this process, numbered in order of first sight (0 is the empty name: unknown). A member
/// keeps its organization as this number, in spare bits of its flags word, instead of a reference: 8 bytes less per
/// member. Numbers are process-wide (<see cref="Shared"/>), so the tables of many nodes in one process share one list.
/// Reads take no lock; a new name takes a lock once. Names are never forgotten, and numbers stop at
/// <see cref="MaxId"/>: past that a table refuses members of organizations it has not numbered yet.
/// </summary>
internal sealed class OrgNames
{
    /// <summary>The largest number (23 bits of the member's flags word).</summary>
    public const int MaxId = (1 << 23) - 1;

    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly int _maxId;
    private string[] _names = new string[16];
    private int _count;

    /// <summary>A list that numbers up to <paramref name="maxId"/> (tests use a small one).</summary>
    public OrgNames(int maxId = MaxId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxId, MaxId);
        _maxId = maxId;
        _names[0] = string.Empty;
        _count = 1;
        _ids[string.Empty] = 0;
    }

    /// <summary>The process's list, which members' numbers refer to.</summary>
    public static OrgNames Shared { get; } = new();

    /// <summary>The number of <paramref name="name"/> if it has one (numbers nothing).</summary>
    public bool TryGetId(string name, out int id) => _ids.TryGetValue(name, out id);

    /// <summary>The number of <paramref name="name"/>, numbering it if new; -1 when every number up to the limit is taken.</summary>
    public int IdOf(string name)
    {
        if (TryGetId(name, out int id))
        {
            return id;
        }

        lock (_gate)
        {
            if (_ids.TryGetValue(name, out id))
            {
                return id;
            }

            if (_count > _maxId)
            {
                return -1;
            }

            id = _count;
            var names = _names;
            if (id == names.Length)
            {
                var larger = new string[names.Length * 2];
                names.CopyTo(larger, 0);
                names = larger;
            }

            // The name is readable before its number is handed out.
            names[id] = name;
            Volatile.Write(ref _names, names);
            _count = id + 1;
            _ids[name] = id;
            return id;
        }
    }

    /// <summary>The name numbered <paramref name="id"/> (a number <see cref="IdOf"/> handed out).</summary>
    public string NameOf(int id) => Volatile.Read(ref _names)[id];
}
