// The spellings CNI allows, checked where the config and the variables are read.

/** A network name, and here also a container id (it names a file: it may not climb out of the data dir). */
export const CNI_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A Linux interface name: 1–15 characters, no whitespace, `/` or `:`. */
export const INTERFACE_NAME = /^[^\s/:]{1,15}$/;
