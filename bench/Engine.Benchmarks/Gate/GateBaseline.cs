using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engine.Benchmarks.Gate;

/// <summary>
/// One gated figure: speed as a ratio to its same-run reference, and bytes allocated per operation. In the baseline,
/// <see cref="Spread"/> is how far two back-to-back measurements of the ratio disagreed (0.1 = 10 %): the machine's own
/// noise for this figure, which widens its speed threshold.
/// </summary>
internal sealed record GateEntry(
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("allocated_bytes")] long AllocatedBytes,
    [property: JsonPropertyName("mean_ns")] double MeanNs,
    [property: JsonPropertyName("spread")] double Spread = 0);

/// <summary>The committed baseline: bench/gate-baseline.json.</summary>
internal sealed class GateBaseline
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    [JsonPropertyName("machine")]
    public string Machine { get; set; } = "";

    [JsonPropertyName("updated")]
    public string Updated { get; set; } = "";

    [JsonPropertyName("entries")]
    public SortedDictionary<string, GateEntry> Entries { get; set; } = new(StringComparer.Ordinal);

    public static GateBaseline Load(string path) =>
        File.Exists(path) ? JsonSerializer.Deserialize<GateBaseline>(File.ReadAllText(path), Json) ?? new GateBaseline() : new GateBaseline();

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
}
