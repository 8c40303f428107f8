/// The HTTP side of a Chapar process: gateway callbacks (Kannel delivery reports).
public enum CallbackServer {}
