/// The one configuration file of a Chapar process (YAML), parsed and validated with `FILE:LINE` errors.
public enum ConfigFile {}
