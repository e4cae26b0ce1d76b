using EdgeBind.Core.Config;
using EdgeBind.Core.Timing;

namespace EdgeBind.Matching;

/// <summary>
/// The rules that open and close events, declared once and bound flat (<c>enter</c>, <c>exit</c>,
/// <c>min_duration_s</c>, <c>cooldown_s</c>, <c>max_per_minute</c>) into the <c>events:</c> section (the
/// defaults), each classification group and each query, from YAML, the HTTP API and MQTT alike. A value
/// left null takes the level above's (<see cref="Resolve"/>).
/// </summary>
public abstract class EventRuleOptions : IValidatable
{
    private readonly bool _enterRequired;

    /// <summary>Rules with these defaults; a level that gives a default enter threshold must keep one.</summary>
    /// <param name="probabilities">True when the thresholds are class probabilities (classification groups), not cosines.</param>
    /// <param name="enter">Default enter threshold; null for a level whose nulls fall through to the one above.</param>
    /// <param name="exit">Default exit threshold; null: enter - 0.05.</param>
    protected EventRuleOptions(bool probabilities = false, double? enter = null, double? exit = null)
    {
        Probabilities = probabilities;
        _enterRequired = enter is not null;
        Enter = enter;
        Exit = exit;
    }

    /// <summary>How far below enter the exit threshold sits when no level sets it (the hysteresis band).</summary>
    public const double DefaultHysteresis = 0.05;

    /// <summary>Score at or above which an event starts: a cosine similarity, or a probability for classification groups.</summary>
    public double? Enter { get; set; }

    /// <summary>Score below which an open event closes; at most <see cref="Enter"/>. Null: the level above's, else enter - 0.05.</summary>
    public double? Exit { get; set; }

    /// <summary>How long the score must stay at or above enter before the event opens, s.</summary>
    public double? MinDurationS { get; set; }

    /// <summary>Time after an event closes during which no new event of the same query and target opens, s.</summary>
    public double? CooldownS { get; set; }

    /// <summary>Most events that may open per minute (per target); 0 = no limit.</summary>
    public int? MaxPerMinute { get; set; }

    /// <summary>True when the thresholds are class probabilities in [0, 1] (classification groups), not cosines.</summary>
    protected bool Probabilities { get; }

    /// <summary>These rules, with the values left null taken from <paramref name="defaults"/> (zero when neither sets them).</summary>
    public EventRules Resolve(EventRuleOptions? defaults = null)
    {
        var enter = Enter ?? defaults?.Enter ?? 0;
        var exit = Exit ?? Math.Min(enter, defaults?.Exit ?? enter - DefaultHysteresis);
        return new EventRules(enter, Math.Min(exit, enter), Ns.FromSeconds(MinDurationS ?? defaults?.MinDurationS ?? 0),
            Ns.FromSeconds(CooldownS ?? defaults?.CooldownS ?? 0), MaxPerMinute ?? defaults?.MaxPerMinute ?? 0);
    }

    /// <inheritdoc />
    public virtual void Validate(ConfigValidator validator)
    {
        ArgumentNullException.ThrowIfNull(validator);
        var (low, score) = Probabilities ? (0.0, "a probability in [0, 1]") : (-1.0, "a cosine similarity in [-1, 1]");
        validator.Require(Enter is not null || !_enterRequired, "enter", Probabilities ? "a probability in (0, 1]" : score, Enter);
        validator.Require(Enter is null || (Enter >= low && Enter <= 1 && (!Probabilities || Enter > 0)), "enter", Probabilities ? "a probability in (0, 1]" : score, Enter);
        validator.Require(Exit is null || (Exit >= low && Exit <= 1), "exit", score, Exit);
        validator.Require(Enter is null || Exit is null || Exit <= Enter, "exit", $"at most enter ({ConfigValidator.Describe(Enter)})", Exit);
        validator.Require(MinDurationS is null || (MinDurationS >= 0 && double.IsFinite(MinDurationS.Value)), "min_duration_s", "a duration >= 0 s", MinDurationS);
        validator.Require(CooldownS is null || (CooldownS >= 0 && double.IsFinite(CooldownS.Value)), "cooldown_s", "a duration >= 0 s", CooldownS);
        validator.Require(MaxPerMinute is null or >= 0, "max_per_minute", "a count >= 0 (0 = unlimited)", MaxPerMinute);
    }
}

/// <summary>The event rules of one query or class after defaults are applied.</summary>
/// <param name="Enter">Score at or above which an event starts.</param>
/// <param name="Exit">Score below which it ends.</param>
/// <param name="MinDurationNs">Time the score must stay at or above enter before the event opens, ns.</param>
/// <param name="CooldownNs">Quiet time after a close, ns.</param>
/// <param name="MaxPerMinute">Most opens per trailing minute; 0 = unlimited.</param>
public sealed record EventRules(double Enter, double Exit, long MinDurationNs, long CooldownNs, int MaxPerMinute);
