namespace Vepa.Consumer;

/// <summary>The toy task: each prompt asks for the colour of one object; the policy answers with one colour word.</summary>
public static class ColourQuiz
{
    /// <summary>The vocabulary the policy writes: one token per colour word.</summary>
    public static readonly string[] Vocabulary = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"];

    /// <summary>The objects asked about; object i has colour <c>Vocabulary[(3 * i + 1) % 8]</c>.</summary>
    public static readonly string[] Objects = ["ball", "cube", "car", "cup", "kite", "lamp"];

    /// <summary>Gets the question about object <paramref name="index"/>.</summary>
    public static string Question(int index) => $"What colour is the {Objects[index]}?";

    /// <summary>Gets the gold answer for object <paramref name="index"/>.</summary>
    public static string Gold(int index) => Vocabulary[(3 * index + 1) % Vocabulary.Length];
}
