/// The release of clump; the agent prints it on the console and images record it.
public enum ClumpVersion {
    public static let string = "0.1.0"
}
