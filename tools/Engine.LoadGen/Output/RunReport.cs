using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Engine.LoadGen.Output;

/// <summary>
/// The result of a run: named figures in a fixed order, printed as a summary table and written as JSON with the keys
/// each verb documents.
/// </summary>
internal sealed class RunReport
{
    private readonly List<(string Key, string Label, JsonNode? Value, string Text)> _rows = [];

    public RunReport(string title) => Title = title;

    public string Title { get; }

    public RunReport Add(string key, string label, double value, string format = "N1", string unit = "")
    {
        string text = double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) + unit : "n/a";
        _rows.Add((key, label, double.IsFinite(value) ? JsonValue.Create(Math.Round(value, 3)) : null, text));
        return this;
    }

    public RunReport Add(string key, string label, long value, string unit = "")
    {
        _rows.Add((key, label, JsonValue.Create(value), value.ToString("N0", CultureInfo.InvariantCulture) + unit));
        return this;
    }

    public RunReport Add(string key, string label, string value)
    {
        _rows.Add((key, label, JsonValue.Create(value), value));
        return this;
    }

    public RunReport Add(string key, string label, bool value)
    {
        _rows.Add((key, label, JsonValue.Create(value), value ? "yes" : "NO"));
        return this;
    }

    /// <summary>A row shown in the table only (not part of the JSON contract).</summary>
    public RunReport Note(string label, string text)
    {
        _rows.Add(("", label, null, text));
        return this;
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var (key, _, value, _) in _rows)
        {
            if (key.Length > 0)
            {
                json[key] = value?.DeepClone();
            }
        }

        return json;
    }

    public void Print(IAnsiConsole console)
    {
        var table = new Table().Title(Title).AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (_, label, _, text) in _rows)
        {
            table.AddRow(Markup.Escape(label), Markup.Escape(text));
        }

        console.Write(table);
    }

    public static void WriteJson(string path, JsonNode node)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
